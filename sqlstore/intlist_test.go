package sqlstore

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestIntList(t *testing.T) {
	for _, tc := range []struct {
		src  any
		want []int
	}{
		{nil, nil},
		{"[]", []int{}},
		{"[1]", []int{1}},
		{"[1,2,18,25,40]", []int{1, 2, 18, 25, 40}},
		{[]byte("[-3,0,7]"), []int{-3, 0, 7}},
		{"[ 1 , 2 ]", []int{1, 2}}, // not json.Marshal's form: encoding/json reads it
	} {
		var got []int
		if err := (intList{&got}).Scan(tc.src); err != nil {
			t.Fatalf("%q: %v", tc.src, err)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q: %#v, want %#v", tc.src, got, tc.want)
		}
	}
	for _, bad := range []string{"[1,]", "[,1]", "[01]", "[1.5]", "[1e3]", `["1"]`, "[", "1", "[99999999999999999999]"} {
		var got []int
		if err := (intList{&got}).Scan(bad); err == nil {
			t.Errorf("%q: read as %v, want an error", bad, got)
		}
	}
}

// FuzzIntList: the hand decoder agrees with encoding/json on every input,
// and round-trips what Value writes.
func FuzzIntList(f *testing.F) {
	for _, s := range []string{"[]", "[1,2,3]", "[-1,0]", "[01]", "[1,]", "[ 1]", "[1e2]", "null", "[9223372036854775807]", "[9223372036854775808]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var fast, slow []int
		errFast := (intList{&fast}).Scan(s)
		errSlow := json.Unmarshal([]byte(s), &slow)
		if (errFast == nil) != (errSlow == nil) {
			t.Fatalf("%q: hand %v, encoding/json %v", s, errFast, errSlow)
		}
		if errFast == nil && !reflect.DeepEqual(fast, slow) {
			t.Fatalf("%q: hand %#v, encoding/json %#v", s, fast, slow)
		}
		if errFast != nil || fast == nil {
			return
		}
		v, err := (intList{&fast}).Value()
		if err != nil {
			t.Fatal(err)
		}
		var back []int
		if err := (intList{&back}).Scan(v); err != nil || !reflect.DeepEqual(back, fast) {
			t.Fatalf("%q: round trip %#v (%v), want %#v", s, back, err, fast)
		}
	})
}
