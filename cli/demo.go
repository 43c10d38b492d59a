package cli

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/demo"
	"github.com/miniship/miniship/service"
)

// printDemo seeds the demo data (once) and prints its credentials and the
// whole life of shop A as commands to paste into bash, with this server's
// values. After the line setting the variables, the commands are the same
// as in the README's "Trying the demo" (a test keeps them equal), which
// reads the variables from the admin API instead.
func printDemo(ctx context.Context, svc *service.Service, base string, f serveFlags, w io.Writer) error {
	d, err := demo.Seed(ctx, svc)
	if err != nil {
		return err
	}
	ticket, err := svc.CurrentTicket(ctx, demo.PlatformAppID)
	if err != nil {
		return err
	}
	state := "created"
	if !d.Created {
		state = "already there"
	}
	p := d.Platform
	fmt.Fprintf(w, `
miniship demo data (%s)
  admin key          %s
  platform appid     %s
  platform secret    %s
  message token      %s
  EncodingAESKey     %s
  template_id        %d
`, state, f.adminKey, p.AppID, p.Secret, p.Token, p.EncodingAESKey, d.TemplateID)
	for _, a := range d.Authorizers {
		grants := "no privacy grants"
		if len(a.PrivacyAPIs) > 0 {
			grants = "privacy grants " + strings.Join(a.PrivacyAPIs, ",")
		}
		// The AppSecret is what the merchant signs in with on the consent page.
		fmt.Fprintf(w, "  mini program       %s (%s; %s), AppSecret %s, refresh token %s\n", a.AppID, a.Nickname, grants, a.Secret, d.Refresh[a.AppID])
	}
	cat := d.Authorizers[0].Categories[0]
	fmt.Fprintf(w, `
The whole life of shop A (commit, privacy scan, submit_audit, approval,
release), to paste into bash:

  field() { sed -n "s/.*\"$1\":\"\{0,1\}\([^\",}]*\).*/\1/p"; }   # one JSON field, without jq
  B=%[1]s KEY=%[2]s
  SECRET=%[3]s
  TICKET=%[4]s   # valid 12 h: later, GET $B/miniship/v1/platforms/%[6]s/ticket
  REFRESH=%[5]s
%[7]s
%[8]s
Consent page: get a pre_auth_code, then open the page and sign in with a
mini program's appid and AppSecret above:

  PRE=$(curl -s -X POST "$B/cgi-bin/component/api_create_preauthcode?component_access_token=$CTOKEN" \
    -d '{"component_appid":"%[6]s"}' | field pre_auth_code)
  echo "$B/cgi-bin/componentloginpage?component_appid=%[6]s&pre_auth_code=$PRE&redirect_uri=https://example.com/"

`, base, f.adminKey, p.Secret, ticket, d.Refresh[demo.ShopA], p.AppID,
		lifeCommands(d.TemplateID, cat.FirstClass, cat.SecondClass, cat.FirstID, cat.SecondID, scanWait(f)), shopBNote(d.Authorizers))
	return nil
}

// shopBNote says what shop B's commits answer: 85312 while it lacks the
// getLocation grant the template needs (the demo seeds it so), and how to
// grant it; a restart after the grant says so instead.
func shopBNote(as []*miniship.Authorizer) string {
	for _, a := range as {
		if a.AppID == demo.ShopB && slices.Contains(a.PrivacyAPIs, "getLocation") {
			return "Shop B has the getLocation privacy grant the template needs: its commits go through.\n"
		}
	}
	return fmt.Sprintf(`Shop B has no privacy grant, while the template declares requiredPrivateInfos
["getLocation"] (its store page calls wx.getLocation): every commit for shop B
answers 85312 until it is granted (on WeChat, in the mini program's console):

  curl -s -H "Authorization: Bearer $KEY" -X PATCH $B/miniship/v1/authorizers/%s -d '{"privacy_apis":["getLocation"]}'
`, demo.ShopB)
}

// scanWait is the line that waits for the privacy scan after a commit: a
// poll on the real clock, a clock advance on the manual one.
func scanWait(f serveFlags) string {
	if f.clockMode == "manual" {
		return fmt.Sprintf(`curl -s -H "Authorization: Bearer $KEY" -X POST $B/miniship/v1/clock/advance -d '{"seconds":%d}'   # manual clock: end the privacy scan`, int(f.scan.Seconds()+0.999))
	}
	// Bounded, so that a mistake earlier (an empty $ATOKEN) does not wait
	// for ever: submit_audit then says what is wrong.
	return fmt.Sprintf(`for i in $(seq %d); do curl -s "$B/wxa/security/get_code_privacy_info?access_token=$ATOKEN" | grep -q '"errcode":0' && break; sleep 1; done   # the privacy scan takes %s`,
		max(30, 2*int(f.scan.Seconds()+0.999)+10), f.scan)
}

// lifeCommands is shop A's life after the variables B, KEY, SECRET, TICKET
// and REFRESH are set; each line is indented for the terminal.
func lifeCommands(templateID int64, first, second string, firstID, secondID int64, scan string) string {
	lines := fmt.Sprintf(`CTOKEN=$(curl -s -X POST $B/cgi-bin/component/api_component_token \
  -d '{"component_appid":"%[1]s","component_appsecret":"'$SECRET'","component_verify_ticket":"'$TICKET'"}' | field component_access_token)
ATOKEN=$(curl -s -X POST "$B/cgi-bin/component/api_authorizer_token?component_access_token=$CTOKEN" \
  -d '{"component_appid":"%[1]s","authorizer_appid":"%[2]s","authorizer_refresh_token":"'$REFRESH'"}' | field authorizer_access_token)
curl -s -w '\n' -X POST "$B/wxa/commit?access_token=$ATOKEN" \
  -d '{"template_id":%[3]d,"ext_json":"{\"extAppid\":\"%[2]s\",\"ext\":{\"shopName\":\"Shop A\"}}","user_version":"1.0.0","user_desc":"first"}'
%[4]s
curl -s -w '\n' "$B/wxa/get_category?access_token=$ATOKEN"   # the categories submit_audit may name
AUDIT=$(curl -s -X POST "$B/wxa/submit_audit?access_token=$ATOKEN" \
  -d '{"item_list":[{"address":"pages/index/index","tag":"shop","title":"Home","first_class":"%[5]s","second_class":"%[6]s","first_id":%[7]d,"second_id":%[8]d}]}' | field auditid)
curl -s -w '\n' -H "Authorization: Bearer $KEY" -X POST $B/miniship/v1/audits/$AUDIT/decision -d '{"result":"approve"}'   # the reviewer's part
curl -s -w '\n' -X POST "$B/wxa/get_auditstatus?access_token=$ATOKEN" -d '{"auditid":'$AUDIT'}'   # status 0: approved
curl -s -w '\n' -X POST "$B/wxa/release?access_token=$ATOKEN" -d '{}'
`, demo.PlatformAppID, demo.ShopA, templateID, scan, first, second, firstID, secondID)
	return "  " + strings.ReplaceAll(strings.TrimSuffix(lines, "\n"), "\n", "\n  ") + "\n"
}
