package sqlstore

import (
	"encoding/json"
	"fmt"
	"math"
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
		{fmt.Sprintf("[%d,%d]", math.MaxInt, math.MinInt), []int{math.MaxInt, math.MinInt}},
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
	for _, bad := range []string{"[1,]", "[,1]", "[01]", "[1.5]", "[1e3]", `["1"]`, "[", "1", "[99999999999999999999]", fmt.Sprintf("[%d]", uint64(math.MaxInt)+1), fmt.Sprintf("[-%d]", uint64(math.MaxInt)+2), "[-]", "[1,,2]", "[1-2]"} {
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

// BenchmarkIntList: a grant's permission sets as the store reads them on
// every authenticated request (43 sets, as a platform granted all).
func BenchmarkIntList(b *testing.B) {
	src := "[17,18,19,25,30,31,36,37,40,45,48,49,51,52,57,65,67,70,71,73,76,81,84,85,86,88,93,99,102,104,105,112,116,117,118,119,120,129,130,131,132,133,135]"
	b.ReportAllocs()
	for b.Loop() {
		var out []int
		if err := (intList{&out}).Scan(src); err != nil || len(out) != 43 {
			b.Fatal(out, err)
		}
	}
}
