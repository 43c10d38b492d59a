package service

import (
	"slices"
	"testing"
)

// TestCategoryTree checks the embedded category tree is one consistent
// tree of two levels: the root's children are the first levels, every
// child names its father, ids are unique, and each category that needs a
// review says which qualification.
func TestCategoryTree(t *testing.T) {
	tree := categoryTree()
	root := tree[0]
	if root == nil || len(root.Children) == 0 {
		t.Fatal("no root with children")
	}
	seen := 0
	for _, fid := range root.Children {
		f := tree[fid]
		if f == nil || f.Level != 1 || f.Father != 0 || f.Name == "" {
			t.Fatalf("first level %d: %+v", fid, f)
		}
		seen++
		for _, sid := range f.Children {
			s := tree[sid]
			if s == nil || s.Level != 2 || s.Father != fid || s.Name == "" || len(s.Children) != 0 {
				t.Fatalf("second level %d under %d: %+v", sid, fid, s)
			}
			if _, _, ok := lookupCategory(fid, sid); !ok {
				t.Fatalf("lookupCategory(%d, %d) fails", fid, sid)
			}
			if s.SensitiveType == 1 && (len(s.Qualify.ExterList) == 0 || s.Qualify.ExterList[0].InnerList[0].Name == "") {
				t.Fatalf("%s needs a review but names no qualification", s.Name)
			}
			seen++
		}
	}
	if seen != len(tree)-1 {
		t.Fatalf("%d nodes reachable from the root, %d in the file", seen, len(tree)-1)
	}
	// The categories mstest and the demo give their mini programs are in the tree.
	if _, s, ok := lookupCategory(287, 612); !ok || s.Name != "效率" || s.SensitiveType != 0 {
		t.Fatal("工具/效率 (287/612) missing or sensitive")
	}
	if f, s, ok := lookupCategory(304, 305); !ok || f.Name != "商家自营" || s.Name != "百货" {
		t.Fatal("商家自营/百货 (304/305) missing")
	}
	if _, _, ok := lookupCategory(287, 37); ok {
		t.Fatal("a second level under the wrong first level was accepted")
	}
	if !slices.Contains(root.Children, 36) {
		t.Fatal("医疗 missing")
	}
}
