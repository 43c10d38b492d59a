package console

// Line is one line of a diff: Op is ' ' (both), '-' (only in the first)
// or '+' (only in the second).
type Line struct {
	Op   byte
	Text string
}

// maxDiffCells bounds the LCS table: app.json files are small, and a
// pathological pair degrades to "all removed, all added" instead of
// using unbounded memory.
const maxDiffCells = 4 << 20

// Diff is a line diff of a and b by longest common subsequence.
func Diff(a, b []string) []Line {
	if (len(a)+1)*(len(b)+1) > maxDiffCells {
		out := make([]Line, 0, len(a)+len(b))
		for _, l := range a {
			out = append(out, Line{'-', l})
		}
		for _, l := range b {
			out = append(out, Line{'+', l})
		}
		return out
	}
	// lcs[i][j] is the LCS length of a[i:] and b[j:].
	w := len(b) + 1
	lcs := make([]int, (len(a)+1)*w)
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i*w+j] = lcs[(i+1)*w+j+1] + 1
			} else {
				lcs[i*w+j] = max(lcs[(i+1)*w+j], lcs[i*w+j+1])
			}
		}
	}
	var out []Line
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] == b[j]:
			out = append(out, Line{' ', a[i]})
			i, j = i+1, j+1
		case lcs[(i+1)*w+j] >= lcs[i*w+j+1]:
			out = append(out, Line{'-', a[i]})
			i++
		default:
			out = append(out, Line{'+', b[j]})
			j++
		}
	}
	for ; i < len(a); i++ {
		out = append(out, Line{'-', a[i]})
	}
	for ; j < len(b); j++ {
		out = append(out, Line{'+', b[j]})
	}
	return out
}

// Class names the line's kind for the stylesheet.
func (l Line) Class() string {
	switch l.Op {
	case '-':
		return "del"
	case '+':
		return "add"
	}
	return "same"
}

// Sign is the line's marker as unified diffs print it.
func (l Line) Sign() string { return string(l.Op) }
