package sqlstore

import "slices"

// Forming a batch from a queue (the SQLite group commit, batch.go, and
// PostgreSQL's shared statements, combine.go) decides who waits for whom.
// Taken in arrival order alone, one tenant's burst goes before everyone
// who came after it: sixteen queued 1 MB commits of one platform made
// another platform's small commit wait for all sixteen. So a batch is
// formed round by round: the queue's head (the oldest request, whose caller
// runs the batch), then the oldest request of every other tenant, then
// every tenant's second oldest, and so on, up to maxBatch requests and
// maxBatchBytes. A tenant whose next request does not fit in the bytes
// left gives no more to this batch, so that each tenant's requests run in
// their order. The head is always taken (alone when it is that large), and
// whoever is left waits for a later batch, whose head is the oldest of
// them: nobody waits for ever.

// fairWindow bounds how far into the queue a batch is looked for, so that
// forming one stays cheap while the writer waits: a request further back
// comes within it as the requests ahead of it go.
const fairWindow = 1024

// fairPick returns the positions, in queue order, of the next batch of a
// queue of n requests (n ≥ 1), where tenant(i) and size(i) are request i's
// tenant and bytes. Position 0, the head, is always in it.
func fairPick(n int, tenant func(int) string, size func(int) int) []int {
	n = min(n, fairWindow)
	if n <= maxBatch { // under everyday load the whole queue fits: take it
		bytes := 0
		for i := range n {
			bytes += size(i)
		}
		if bytes <= maxBatchBytes || n == 1 {
			all := make([]int, n)
			for i := range all {
				all[i] = i
			}
			return all
		}
	}
	picked := []int{0}
	// rounds[r] holds, in queue order, the requests that are their
	// tenant's r-th (the head is its tenant's 0th, and taken already).
	seen := make(map[string]int, 8)
	rounds := make([][]int, maxBatch)
	seen[tenant(0)] = 1
	for i := 1; i < n; i++ {
		t := tenant(i)
		r := seen[t]
		seen[t] = r + 1
		if r < maxBatch {
			rounds[r] = append(rounds[r], i)
		}
	}
	bytes := size(0)
	full := map[string]bool{}
	for _, round := range rounds {
		for _, i := range round {
			if len(picked) == maxBatch {
				slices.Sort(picked)
				return picked
			}
			t := tenant(i)
			if full[t] {
				continue
			}
			b := size(i)
			if bytes+b > maxBatchBytes {
				full[t] = true
				continue
			}
			bytes += b
			picked = append(picked, i)
		}
	}
	slices.Sort(picked)
	return picked
}

// takePicked removes the picked positions (in order) from queue and
// returns them, leaving the rest in their order; the queue's array keeps
// nothing it handed on (and what their functions hold).
func takePicked[T any](queue []T, picked []int) (batch, rest []T) {
	batch = make([]T, 0, len(picked))
	rest = queue[:0]
	k := 0
	for i, r := range queue {
		if k < len(picked) && picked[k] == i {
			batch = append(batch, r)
			k++
			continue
		}
		rest = append(rest, r)
	}
	clear(queue[len(rest):])
	if len(rest) == 0 {
		rest = nil
	}
	return batch, rest
}
