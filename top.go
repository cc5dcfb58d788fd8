package sockwatch

import "slices"

// topN sorts s by cmp and keeps its first n elements (all when n <= 0),
// releasing the rest to the garbage collector: the owners, paths, holders
// and creators each wrapper lists, the largest first.
func topN[T any](s []T, n int, cmp func(a, b T) int) []T {
	slices.SortFunc(s, cmp)
	if n <= 0 || len(s) <= n {
		return s
	}
	return slices.Clone(s[:n])
}
