package service

// Set helpers for request lists: a body of up to 2 MB holds some 100,000
// entries, and a linear membership test per entry made one such request
// hold its transaction (and SQLite's only writer) for seconds.

// dedupe appends v to list unless seen has it.
func dedupe(list []string, seen map[string]bool, v string) []string {
	if seen[v] {
		return list
	}
	seen[v] = true
	return append(list, v)
}

// union is cur followed by the entries of add it lacks, in order.
func union(cur, add []string) []string {
	out := make([]string, 0, len(cur))
	seen := make(map[string]bool, len(cur))
	for _, v := range cur {
		out = dedupe(out, seen, v)
	}
	for _, v := range add {
		out = dedupe(out, seen, v)
	}
	return out
}
