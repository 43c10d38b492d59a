package miniship

import "slices"

// PermissionSet is one of the permission sets (权限集) WeChat defines for
// mini programs. A merchant grants them to a platform on the consent page.
type PermissionSet struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
	// Exclusive sets (互斥) are held by one platform at a time for a mini
	// program; the others are shared by every platform it authorizes.
	Exclusive bool `json:"exclusive"`
}

// permissionSets is WeChat's mini program set table as far as the sources
// give it: every set of the default grant, plus 41 (exclusive), 58 (the
// older code set) and 61 (categories on the English pages). Names are given
// where the sources say what a set covers.
var permissionSets = func() []PermissionSet {
	named := map[int]string{
		17: "Mini program codes",
		18: "Development management and data analysis",
		19: "Customer service messages",
		30: "Basic information and service categories",
		40: "Plugin management",
		58: "Mini program codes (older set)",
		61: "Service categories",
		86: "Experience version QR code",
	}
	exclusive := []int{18, 25, 40, 41, 45, 49, 51, 73, 76, 81}
	ids := []int{17, 18, 19, 25, 30, 31, 36, 37, 40, 41, 45, 48, 49, 51, 52, 57, 58, 61, 65, 67, 70, 71, 73, 76,
		81, 84, 85, 86, 88, 93, 99, 102, 104, 105, 112, 116, 117, 118, 119, 120, 129, 130, 131, 132, 133, 135}
	out := make([]PermissionSet, len(ids))
	for i, id := range ids {
		out[i] = PermissionSet{ID: id, Name: named[id], Exclusive: slices.Contains(exclusive, id)}
	}
	return out
}()

// PermissionSets returns the mini program permission sets WeChat defines,
// by id.
func PermissionSets() []PermissionSet { return slices.Clone(permissionSets) }

// LookupPermissionSet finds a set by id; false for an id WeChat does not
// define for mini programs.
func LookupPermissionSet(id int) (PermissionSet, bool) {
	i, ok := slices.BinarySearchFunc(permissionSets, id, func(p PermissionSet, id int) int { return p.ID - id })
	if !ok {
		return PermissionSet{}, false
	}
	return permissionSets[i], true
}

// AuthorizationListTx reads a mini program's authorizations across platforms, which the
// exclusivity of permission sets needs.
type AuthorizationListTx interface {
	// ListGrants lists every platform's authorization of the mini program,
	// oldest first.
	ListGrants(authorizerAppID string) ([]*Authorization, error)
}
