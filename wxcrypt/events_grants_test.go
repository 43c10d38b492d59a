package wxcrypt

import (
	"encoding/xml"
	"testing"
)

// TestGrantEventsRoundTrip: the grant pushes miniship writes are read back
// by ParseMessage, and so is the old doc's sample with quoted values.
func TestGrantEventsRoundTrip(t *testing.T) {
	priv, _ := xml.Marshal(&PrivacyApplyEvent{ToUserName: "gh_1", CreateTime: 5, MsgType: MsgTypeEvent, Event: EventPrivacyApply,
		Result: PrivacyApplyResult{APIName: "wx.choosePoi", ApplyTime: 1, AuditID: 421609337, AuditTime: 2, Reason: "无场景", Status: PushRejected}})
	cat, _ := xml.Marshal(&CategoryAuditEvent{ToUserName: "gh_1", CreateTime: 5, MsgType: MsgTypeEvent, Event: EventCategoryAudit,
		First: 36, Second: 37, Ret: PushApproved, Reason: "ok"})
	quoted := []byte(`<xml><ToUserName><![CDATA[gh_1]]></ToUserName><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[wxa_privacy_apply]]></Event>` +
		`<result_info><api_name>wx.choosePoi</api_name><audit_id>421609337</audit_id><status>"2"</status><reason>小程序内未含有相应使用场景</reason></result_info></xml>`)
	for _, c := range []struct {
		name  string
		in    []byte
		check func(*Message) bool
	}{
		{"privacy", priv, func(m *Message) bool {
			p := m.PrivacyApply
			return m.Event == EventPrivacyApply && p != nil && p.APIName == "wx.choosePoi" && p.AuditID == "421609337" && p.Status == "2" && p.Reason == "无场景"
		}},
		{"category", cat, func(m *Message) bool {
			return m.Event == EventCategoryAudit && m.First == "36" && m.Second == "37" && m.Ret == "3" && m.CategoryReason == "ok" && m.PrivacyApply == nil
		}},
		{"quoted sample", quoted, func(m *Message) bool { return m.PrivacyApply != nil && m.PrivacyApply.Status == `"2"` }},
	} {
		m, err := ParseMessage(c.in)
		if err != nil || !c.check(m) {
			t.Fatalf("%s: %+v %v (%s)", c.name, m, err, c.in)
		}
	}
}
