package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/miniship/miniship/mstest"
)

// TestAdminAuthorization: the admin API takes its key as a bearer token,
// whatever the case of the scheme's name, and nothing else.
func TestAdminAuthorization(t *testing.T) {
	s := mstest.New(t, mstest.Options{})
	for _, tc := range []struct {
		header string
		want   int
	}{
		{"Bearer " + s.AdminKey, http.StatusOK},
		{"bearer " + s.AdminKey, http.StatusOK},
		{"BEARER " + s.AdminKey, http.StatusOK},
		{"Bearer  " + s.AdminKey, http.StatusOK},
		{"", http.StatusUnauthorized},
		{s.AdminKey, http.StatusUnauthorized},
		{"Basic " + s.AdminKey, http.StatusUnauthorized},
		{"Bearer", http.StatusUnauthorized},
		{"Bearer ", http.StatusUnauthorized},
		{"Bearer wrong", http.StatusUnauthorized},
		{"Bearer " + s.AdminKey + "x", http.StatusUnauthorized},
		{"Bearerx " + s.AdminKey, http.StatusUnauthorized},
	} {
		req, _ := http.NewRequest("GET", s.URL+"/miniship/v1/clock", nil)
		if tc.header != "" {
			req.Header.Set("Authorization", tc.header)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != tc.want {
			t.Errorf("Authorization %q: HTTP %d, want %d", tc.header, res.StatusCode, tc.want)
		}
	}
}
