package wxcrypt

import "encoding/xml"

// Pushes about a mini program's grants, to the message-and-event URL.
const (
	EventPrivacyApply  = "wxa_privacy_apply"
	EventCategoryAudit = "wxa_category_audit"
)

// Push status codes. They differ from the list APIs' on purpose: WeChat's
// privacy push says 2 rejected / 3 approved where get_privacy_interface
// says 4 / 5; the category push's ret agrees with getcategory.
const (
	PushRejected = 2
	PushApproved = 3
)

// PrivacyApplyEvent is the decision on an apply_privacy_interface request.
type PrivacyApplyEvent struct {
	XMLName      xml.Name           `xml:"xml"`
	ToUserName   CDATA              `xml:"ToUserName"`
	FromUserName CDATA              `xml:"FromUserName"`
	CreateTime   int64              `xml:"CreateTime"`
	MsgType      CDATA              `xml:"MsgType"`
	Event        CDATA              `xml:"Event"`
	Result       PrivacyApplyResult `xml:"result_info"`
}

// PrivacyApplyResult is the result_info of a wxa_privacy_apply push.
type PrivacyApplyResult struct {
	APIName   string `xml:"api_name"`
	ApplyTime int64  `xml:"apply_time"`
	AuditID   int64  `xml:"audit_id"`
	AuditTime int64  `xml:"audit_time"`
	Reason    string `xml:"reason"`
	Status    int    `xml:"status"`
}

// CategoryAuditEvent is the result of a category's qualification review.
type CategoryAuditEvent struct {
	XMLName      xml.Name `xml:"xml"`
	ToUserName   CDATA    `xml:"ToUserName"`
	FromUserName CDATA    `xml:"FromUserName"`
	CreateTime   int64    `xml:"CreateTime"`
	MsgType      CDATA    `xml:"MsgType"`
	Event        CDATA    `xml:"Event"`
	First        int64    `xml:"first"`
	Second       int64    `xml:"second"`
	Ret          int      `xml:"ret"`
	Reason       CDATA    `xml:"reason"`
}

// GrantFields are the fields of the grant pushes as a receiver reads them,
// all as text: WeChat has sent these values quoted ("2") as well as bare.
type GrantFields struct {
	PrivacyApply *PrivacyApplyInfo `xml:"result_info,omitempty"`
	// wxa_category_audit: the category and ret (2 rejected, 3 approved).
	First          string `xml:"first,omitempty"`
	Second         string `xml:"second,omitempty"`
	Ret            string `xml:"ret,omitempty"`
	CategoryReason string `xml:"reason,omitempty"`
}

// PrivacyApplyInfo is the result_info of a wxa_privacy_apply push, read;
// Status is 2 rejected or 3 approved, possibly with quotes around it.
type PrivacyApplyInfo struct {
	APIName   string `xml:"api_name"`
	ApplyTime string `xml:"apply_time"`
	AuditID   string `xml:"audit_id"`
	AuditTime string `xml:"audit_time"`
	Reason    string `xml:"reason"`
	Status    string `xml:"status"`
}
