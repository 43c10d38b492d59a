package template

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/miniship/miniship/wxerr"
)

// The eight location APIs that requiredPrivateInfos may declare. This file is
// the one place that lists them and their mutual exclusion, so the server,
// the ext_json engine and the SDK agree.
const (
	GetFuzzyLocation              = "getFuzzyLocation"
	GetLocation                   = "getLocation"
	OnLocationChange              = "onLocationChange"
	StartLocationUpdate           = "startLocationUpdate"
	StartLocationUpdateBackground = "startLocationUpdateBackground"
	ChooseLocation                = "chooseLocation"
	ChoosePoi                     = "choosePoi"
	ChooseAddress                 = "chooseAddress"
)

// locationAPIs is in the order of table 1 of the official announcement;
// every list this package returns follows it.
var locationAPIs = [...]string{
	GetFuzzyLocation, GetLocation, OnLocationChange, StartLocationUpdate,
	StartLocationUpdateBackground, ChooseLocation, ChoosePoi, ChooseAddress,
}

// LocationAPIs returns the eight API names, in the official order.
func LocationAPIs() []string { return slices.Clone(locationAPIs[:]) }

// locationIndex is the position of name in locationAPIs, or -1.
func locationIndex(name string) int {
	return slices.Index(locationAPIs[:], name)
}

// IsLocationAPI reports whether name is one of the eight APIs.
func IsLocationAPI(name string) bool { return locationIndex(name) >= 0 }

// MutuallyExclusive reports whether a and b may not be declared together:
// getFuzzyLocation excludes each of the four precise-location APIs
// (getLocation, onLocationChange, startLocationUpdate,
// startLocationUpdateBackground). The choose* APIs combine freely.
func MutuallyExclusive(a, b string) bool {
	precise := func(s string) bool {
		switch s {
		case GetLocation, OnLocationChange, StartLocationUpdate, StartLocationUpdateBackground:
			return true
		}
		return false
	}
	return a == GetFuzzyLocation && precise(b) || b == GetFuzzyLocation && precise(a)
}

// CheckRequiredPrivateInfos validates a requiredPrivateInfos value as
// decoded from JSON and returns it as strings. Not an array of strings, an
// unknown name or a duplicate gives 85310; two mutually exclusive APIs give
// 85311. The first offending element (in array order) is named.
func CheckRequiredPrivateInfos(v any) ([]string, error) {
	arr, ok := v.([]any)
	if !ok {
		return nil, wxerr.Errorf(wxerr.WrongPrivateAPIName, "requiredPrivateInfos must be an array of API names, got %s", JSONType(v))
	}
	list := make([]string, 0, len(arr))
	for i, e := range arr {
		s, ok := e.(string)
		switch {
		case !ok:
			return nil, wxerr.Errorf(wxerr.WrongPrivateAPIName, "requiredPrivateInfos[%d] must be a string, got %s", i, JSONType(e))
		case !IsLocationAPI(s):
			return nil, wxerr.Errorf(wxerr.WrongPrivateAPIName, "requiredPrivateInfos[%d] %q is not one of the 8 location APIs %v", i, s, locationAPIs)
		case slices.Contains(list, s):
			return nil, wxerr.Errorf(wxerr.WrongPrivateAPIName, "requiredPrivateInfos[%d] %q is listed twice", i, s)
		}
		list = append(list, s)
	}
	for i, a := range list {
		for _, b := range list[:i] {
			if MutuallyExclusive(a, b) {
				return nil, wxerr.Errorf(wxerr.PrivateAPIMutuallyExcl, "requiredPrivateInfos: %q and %q are mutually exclusive (getFuzzyLocation cannot be declared with a precise-location API)", b, a)
			}
		}
	}
	return list, nil
}

// JSONType names the JSON type of a value decoded by encoding/json, for
// error messages.
func JSONType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case bool:
		return "boolean"
	case json.Number, float64:
		return "number"
	}
	return fmt.Sprintf("%T", v)
}
