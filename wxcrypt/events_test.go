package wxcrypt_test

import (
	"encoding/xml"
	"net/url"
	"reflect"
	"testing"

	"github.com/miniship/miniship/wxcrypt"
)

func marshal(t *testing.T, v any) string {
	t.Helper()
	b, err := xml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestEventXML(t *testing.T) {
	cases := []struct {
		name string
		v    any
		want string
		typ  string
	}{
		{
			"ticket",
			wxcrypt.NewComponentVerifyTicket("wx3a9d8e7f6c5b4a31", 1413192605, "ticket@@@abc"),
			"<xml><AppId><![CDATA[wx3a9d8e7f6c5b4a31]]></AppId><CreateTime>1413192605</CreateTime>" +
				"<InfoType><![CDATA[component_verify_ticket]]></InfoType>" +
				"<ComponentVerifyTicket><![CDATA[ticket@@@abc]]></ComponentVerifyTicket></xml>",
			wxcrypt.InfoTypeComponentVerifyTicket,
		},
		{
			"authorized",
			&wxcrypt.AuthorizationEvent{
				AppID: "wxplatform", CreateTime: 1413192760, InfoType: wxcrypt.InfoTypeAuthorized,
				AuthorizerAppid: "wxauthorizer", AuthorizationCode: "queryauthcode@@@x",
				AuthorizationCodeExpiredTime: 1413196360, PreAuthCode: "preauthcode@@@y",
			},
			"<xml><AppId><![CDATA[wxplatform]]></AppId><CreateTime>1413192760</CreateTime>" +
				"<InfoType><![CDATA[authorized]]></InfoType><AuthorizerAppid><![CDATA[wxauthorizer]]></AuthorizerAppid>" +
				"<AuthorizationCode><![CDATA[queryauthcode@@@x]]></AuthorizationCode>" +
				"<AuthorizationCodeExpiredTime>1413196360</AuthorizationCodeExpiredTime>" +
				"<PreAuthCode><![CDATA[preauthcode@@@y]]></PreAuthCode></xml>",
			wxcrypt.InfoTypeAuthorized,
		},
		{
			"unauthorized carries only AuthorizerAppid",
			&wxcrypt.AuthorizationEvent{AppID: "wxplatform", CreateTime: 1413192760, InfoType: wxcrypt.InfoTypeUnauthorized, AuthorizerAppid: "wxauthorizer"},
			"<xml><AppId><![CDATA[wxplatform]]></AppId><CreateTime>1413192760</CreateTime>" +
				"<InfoType><![CDATA[unauthorized]]></InfoType><AuthorizerAppid><![CDATA[wxauthorizer]]></AuthorizerAppid></xml>",
			wxcrypt.InfoTypeUnauthorized,
		},
		{
			"audit success",
			wxcrypt.NewAuditSuccess("gh_fb9688c2a4b2", "od1P50M-fNQI5Gcq-trm4a7apsU8", 1488856741, 1488856741),
			"<xml><ToUserName><![CDATA[gh_fb9688c2a4b2]]></ToUserName><FromUserName><![CDATA[od1P50M-fNQI5Gcq-trm4a7apsU8]]></FromUserName>" +
				"<CreateTime>1488856741</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[weapp_audit_success]]></Event>" +
				"<SuccTime>1488856741</SuccTime></xml>",
			wxcrypt.EventWeappAuditSuccess,
		},
		{
			"audit fail",
			wxcrypt.NewAuditFail("gh_fb9688c2a4b2", "od1P50M", 1488856591, "1:账号信息不符合规范:<br>(1):包含色情因素<br>", 1488856591, "xxx|yyy|zzz"),
			"<xml><ToUserName><![CDATA[gh_fb9688c2a4b2]]></ToUserName><FromUserName><![CDATA[od1P50M]]></FromUserName>" +
				"<CreateTime>1488856591</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[weapp_audit_fail]]></Event>" +
				"<Reason><![CDATA[1:账号信息不符合规范:<br>(1):包含色情因素<br>]]></Reason><FailTime>1488856591</FailTime>" +
				"<ScreenShot><![CDATA[xxx|yyy|zzz]]></ScreenShot></xml>",
			wxcrypt.EventWeappAuditFail,
		},
		{
			"audit delay",
			wxcrypt.NewAuditDelay("gh_fb9688c2a4b2", "od1P50M", 1488856591, "审核延后", 1488856591),
			"<xml><ToUserName><![CDATA[gh_fb9688c2a4b2]]></ToUserName><FromUserName><![CDATA[od1P50M]]></FromUserName>" +
				"<CreateTime>1488856591</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[weapp_audit_delay]]></Event>" +
				"<Reason><![CDATA[审核延后]]></Reason><DelayTime>1488856591</DelayTime></xml>",
			wxcrypt.EventWeappAuditDelay,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := marshal(t, tc.v)
			if got != tc.want {
				t.Fatalf("\n got %s\nwant %s", got, tc.want)
			}
			m, err := wxcrypt.ParseMessage([]byte(got))
			if err != nil {
				t.Fatal(err)
			}
			if m.Type() != tc.typ {
				t.Fatalf("Type() = %q, want %q", m.Type(), tc.typ)
			}
			// Message re-encodes to the same bytes: same field set and
			// order as the typed struct.
			if again := marshal(t, m); again != tc.want {
				t.Fatalf("Message re-encodes as\n%s", again)
			}
			// And the typed struct decodes its own output.
			p := reflect.New(reflect.TypeOf(tc.v).Elem())
			if err := xml.Unmarshal([]byte(got), p.Interface()); err != nil {
				t.Fatal(err)
			}
			p.Elem().FieldByName("XMLName").Set(reflect.ValueOf(xml.Name{}))
			if !reflect.DeepEqual(p.Interface(), tc.v) {
				t.Fatalf("decode mismatch: %+v", p.Interface())
			}
		})
	}
}

func TestParseMessageRealShapes(t *testing.T) {
	// The official doc sample: no CDATA, indented.
	m, err := wxcrypt.ParseMessage([]byte(`<xml>
  <AppId>some_appid</AppId>
  <CreateTime>1413192605</CreateTime>
  <InfoType>component_verify_ticket</InfoType>
  <ComponentVerifyTicket>some_verify_ticket</ComponentVerifyTicket>
</xml>`))
	if err != nil {
		t.Fatal(err)
	}
	if m.Type() != wxcrypt.InfoTypeComponentVerifyTicket || m.ComponentVerifyTicket != "some_verify_ticket" || m.CreateTime != 1413192605 || m.AppID != "some_appid" {
		t.Fatalf("%+v", m)
	}
	// Unknown fields are ignored; a non-event MsgType is its own type.
	m, err = wxcrypt.ParseMessage([]byte(`<xml><MsgType><![CDATA[text]]></MsgType><Content>hi</Content></xml>`))
	if err != nil || m.Type() != "text" {
		t.Fatalf("%+v %v", m, err)
	}
	for _, bad := range []string{"", "<xml>", "<notxml/>", "<xml><CreateTime>soon</CreateTime></xml>"} {
		if _, err := wxcrypt.ParseMessage([]byte(bad)); err == nil {
			t.Errorf("ParseMessage(%q) accepted", bad)
		}
	}
}

func TestCDATAEdgeCases(t *testing.T) {
	type doc struct {
		XMLName xml.Name      `xml:"xml"`
		A       wxcrypt.CDATA `xml:"A"`
	}
	for _, s := range []string{"", "]]>", "a]]>b]]>", "<br>&amp;", "多字节"} {
		b, err := xml.Marshal(doc{A: wxcrypt.CDATA(s)})
		if err != nil {
			t.Fatal(err)
		}
		var d doc
		if err := xml.Unmarshal(b, &d); err != nil || string(d.A) != s {
			t.Fatalf("%q → %s → %q %v", s, b, d.A, err)
		}
	}
}

// TestEventPushEndToEnd is what the server and the SDK do together: the
// server seals a typed event, the handler opens and dispatches it.
func TestEventPushEndToEnd(t *testing.T) {
	server := platformCrypter(t)
	handler := platformCrypter(t)
	ev := wxcrypt.NewAuditFail("gh_0123456789ab", "o_system", 1700000000, "违规<br>内容]]>", 1700000001, "m1|m2")
	inner, _ := xml.Marshal(ev)
	q, body, err := server.SealPush(inner, wxcrypt.MessageEnvelope(string(ev.ToUserName)), "1700000002", "")
	if err != nil {
		t.Fatal(err)
	}
	// Through a real query string, as an HTTP handler would see it.
	q, _ = url.ParseQuery(q.Encode())
	got, err := handler.OpenPush(q, body)
	if err != nil {
		t.Fatal(err)
	}
	m, err := wxcrypt.ParseMessage(got)
	if err != nil {
		t.Fatal(err)
	}
	if m.Type() != wxcrypt.EventWeappAuditFail || m.Reason != ev.Reason || m.ScreenShot != "m1|m2" || m.FailTime != 1700000001 {
		t.Fatalf("%+v", m)
	}
}
