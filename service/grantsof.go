package service

import (
	"github.com/miniship/miniship"
	"github.com/miniship/miniship/extjson"
)

// GrantsOf exposes a mini program's privacy-API and plugin grants to the
// ext_json engine exactly as /wxa/commit judges them, so offline tools
// (miniship preview --authorizer) reach the same errcode as a commit.
func GrantsOf(a *miniship.Authorizer) extjson.Grants { return grants{a} }
