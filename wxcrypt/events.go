package wxcrypt

import "encoding/xml"

// CDATA is a string that marshals as <![CDATA[…]]>, the way WeChat writes
// text fields, so generated pushes look like real ones to strict parsers
// and to golden comparisons. It unmarshals like any string (encoding/xml
// reads CDATA sections as character data).
type CDATA string

// MarshalXML writes the element with its text in a CDATA section;
// encoding/xml splits any "]]>" inside across sections.
func (c CDATA) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	return e.EncodeElement(struct {
		Text string `xml:",cdata"`
	}{string(c)}, start)
}

// InfoType values: system notices to the authorization-event URL.
const (
	InfoTypeComponentVerifyTicket = "component_verify_ticket"
	InfoTypeAuthorized            = "authorized"
	InfoTypeUpdateAuthorized      = "updateauthorized"
	InfoTypeUnauthorized          = "unauthorized"
)

// MsgType and Event values: mini program events to the message URL.
const (
	MsgTypeEvent           = "event"
	EventWeappAuditSuccess = "weapp_audit_success"
	EventWeappAuditFail    = "weapp_audit_fail"
	EventWeappAuditDelay   = "weapp_audit_delay"
)

// ComponentVerifyTicket is the ticket pushed every 10 minutes to the
// authorization-event URL (spec §2.1). AppId is the platform appid.
type ComponentVerifyTicket struct {
	XMLName               xml.Name `xml:"xml"`
	AppID                 CDATA    `xml:"AppId"`
	CreateTime            int64    `xml:"CreateTime"`
	InfoType              CDATA    `xml:"InfoType"` // InfoTypeComponentVerifyTicket
	ComponentVerifyTicket CDATA    `xml:"ComponentVerifyTicket"`
}

// NewComponentVerifyTicket fills in InfoType.
func NewComponentVerifyTicket(platformAppID string, createTime int64, ticket string) *ComponentVerifyTicket {
	return &ComponentVerifyTicket{
		AppID:                 CDATA(platformAppID),
		CreateTime:            createTime,
		InfoType:              InfoTypeComponentVerifyTicket,
		ComponentVerifyTicket: CDATA(ticket),
	}
}

// AuthorizationEvent is an authorized / updateauthorized / unauthorized
// notice (spec §2.1). unauthorized carries only AuthorizerAppid, so the
// code fields are omitted when empty.
type AuthorizationEvent struct {
	XMLName                      xml.Name `xml:"xml"`
	AppID                        CDATA    `xml:"AppId"`
	CreateTime                   int64    `xml:"CreateTime"`
	InfoType                     CDATA    `xml:"InfoType"`
	AuthorizerAppid              CDATA    `xml:"AuthorizerAppid"`
	AuthorizationCode            CDATA    `xml:"AuthorizationCode,omitempty"`
	AuthorizationCodeExpiredTime int64    `xml:"AuthorizationCodeExpiredTime,omitempty"`
	PreAuthCode                  CDATA    `xml:"PreAuthCode,omitempty"`
}

// AuditEvent is a mini program audit result pushed to the message URL
// (spec §5). The field order makes each kind come out in the order of the
// official samples, and omitempty gives each kind exactly its fields:
// success SuccTime; fail Reason, FailTime, ScreenShot; delay Reason,
// DelayTime. Use the constructors to get that right.
type AuditEvent struct {
	XMLName      xml.Name `xml:"xml"`
	ToUserName   CDATA    `xml:"ToUserName"`   // mini program original id, gh_…
	FromUserName CDATA    `xml:"FromUserName"` // a system OpenID
	CreateTime   int64    `xml:"CreateTime"`
	MsgType      CDATA    `xml:"MsgType"` // MsgTypeEvent
	Event        CDATA    `xml:"Event"`
	SuccTime     int64    `xml:"SuccTime,omitempty"`
	Reason       CDATA    `xml:"Reason,omitempty"` // may contain <br>
	FailTime     int64    `xml:"FailTime,omitempty"`
	DelayTime    int64    `xml:"DelayTime,omitempty"`
	ScreenShot   CDATA    `xml:"ScreenShot,omitempty"` // media ids joined by |
}

// NewAuditSuccess builds a weapp_audit_success event.
func NewAuditSuccess(toUserName, fromUserName string, createTime, succTime int64) *AuditEvent {
	return &AuditEvent{
		ToUserName: CDATA(toUserName), FromUserName: CDATA(fromUserName), CreateTime: createTime,
		MsgType: MsgTypeEvent, Event: EventWeappAuditSuccess, SuccTime: succTime,
	}
}

// NewAuditFail builds a weapp_audit_fail event; screenShot may be empty.
func NewAuditFail(toUserName, fromUserName string, createTime int64, reason string, failTime int64, screenShot string) *AuditEvent {
	return &AuditEvent{
		ToUserName: CDATA(toUserName), FromUserName: CDATA(fromUserName), CreateTime: createTime,
		MsgType: MsgTypeEvent, Event: EventWeappAuditFail,
		Reason: CDATA(reason), FailTime: failTime, ScreenShot: CDATA(screenShot),
	}
}

// NewAuditDelay builds a weapp_audit_delay event.
func NewAuditDelay(toUserName, fromUserName string, createTime int64, reason string, delayTime int64) *AuditEvent {
	return &AuditEvent{
		ToUserName: CDATA(toUserName), FromUserName: CDATA(fromUserName), CreateTime: createTime,
		MsgType: MsgTypeEvent, Event: EventWeappAuditDelay,
		Reason: CDATA(reason), DelayTime: delayTime,
	}
}

// Message decodes any of the inner XML messages above, for an event handler
// that does not know in advance what arrived: dispatch on Type(). Fields a
// message does not carry stay zero. It marshals with omitempty, so
// re-encoding a decoded message keeps its field set.
type Message struct {
	XMLName    xml.Name `xml:"xml"`
	AppID      CDATA    `xml:"AppId,omitempty"`
	ToUserName CDATA    `xml:"ToUserName,omitempty"`
	// FromUserName is the sender of a message-URL event.
	FromUserName CDATA `xml:"FromUserName,omitempty"`
	CreateTime   int64 `xml:"CreateTime,omitempty"`
	// InfoType discriminates authorization-event-URL notices.
	InfoType CDATA `xml:"InfoType,omitempty"`
	// MsgType and Event discriminate message-URL events.
	MsgType CDATA `xml:"MsgType,omitempty"`
	Event   CDATA `xml:"Event,omitempty"`

	ComponentVerifyTicket CDATA `xml:"ComponentVerifyTicket,omitempty"`

	AuthorizerAppid              CDATA `xml:"AuthorizerAppid,omitempty"`
	AuthorizationCode            CDATA `xml:"AuthorizationCode,omitempty"`
	AuthorizationCodeExpiredTime int64 `xml:"AuthorizationCodeExpiredTime,omitempty"`
	PreAuthCode                  CDATA `xml:"PreAuthCode,omitempty"`

	SuccTime   int64 `xml:"SuccTime,omitempty"`
	Reason     CDATA `xml:"Reason,omitempty"`
	FailTime   int64 `xml:"FailTime,omitempty"`
	DelayTime  int64 `xml:"DelayTime,omitempty"`
	ScreenShot CDATA `xml:"ScreenShot,omitempty"`

	// Grant decisions (events_grants.go): wxa_privacy_apply, wxa_category_audit.
	GrantFields
}

// ParseMessage decodes inner XML (as returned by OpenPush) into a Message.
func ParseMessage(inner []byte) (*Message, error) {
	var m Message
	if err := xml.Unmarshal(inner, &m); err != nil {
		return nil, errorf(ErrParseXML, "%v", err)
	}
	return &m, nil
}

// Type is the message's discriminator: InfoType for platform notices,
// Event for MsgType=event, otherwise MsgType ("" if none is set).
func (m *Message) Type() string {
	switch {
	case m.InfoType != "":
		return string(m.InfoType)
	case m.MsgType == MsgTypeEvent && m.Event != "":
		return string(m.Event)
	}
	return string(m.MsgType)
}
