package service

import (
	"strconv"
	"strings"
	"time"

	"miniship"
)

// field is one element of a pushed message's inner XML.
type field [2]string

// messageXML renders the inner XML of a push the way WeChat does: text in
// CDATA, times and counters as bare numbers.
func messageXML(fields []field) string {
	var b strings.Builder
	b.WriteString("<xml>")
	for _, f := range fields {
		b.WriteString("<" + f[0] + ">")
		if strings.HasSuffix(f[0], "Time") {
			b.WriteString(f[1])
		} else {
			b.WriteString("<![CDATA[" + strings.ReplaceAll(f[1], "]]>", "]]]]><![CDATA[>") + "]]>")
		}
		b.WriteString("</" + f[0] + ">")
	}
	b.WriteString("</xml>")
	return b.String()
}

func unix(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

// platformNotice is a push to the authorization-event URL: tickets and
// authorization changes.
func platformNotice(p *miniship.Platform, infoType string, now time.Time, extra []field) *miniship.Event {
	fields := append([]field{{"AppId", p.AppID}, {"CreateTime", unix(now)}, {"InfoType", infoType}}, extra...)
	return &miniship.Event{
		PlatformAppID: p.AppID,
		URL:           p.AuthEventURL,
		Kind:          infoType,
		EnvelopeKind:  miniship.EnvelopeAppID,
		EnvelopeTo:    p.AppID,
		Payload:       messageXML(fields),
	}
}

// miniProgramEvent is a push to the message URL about one mini program
// (audit results); $APPID$ in the URL names the mini program.
func miniProgramEvent(p *miniship.Platform, a *miniship.Authorizer, event string, now time.Time, extra []field) *miniship.Event {
	fields := append([]field{
		{"ToUserName", a.OriginalID},
		{"FromUserName", "o" + strings.Repeat("0", 27)}, // a system OpenID
		{"CreateTime", unix(now)},
		{"MsgType", "event"},
		{"Event", event},
	}, extra...)
	return &miniship.Event{
		PlatformAppID: p.AppID,
		URL:           strings.ReplaceAll(p.MessageURL, "$APPID$", a.AppID),
		Kind:          event,
		EnvelopeKind:  miniship.EnvelopeToUserName,
		EnvelopeTo:    a.OriginalID,
		Payload:       messageXML(fields),
	}
}

// enqueue writes a push to the outbox inside the caller's transaction, so
// the event exists exactly when the state change it reports does.
func (s *Service) enqueue(tx miniship.Tx, e *miniship.Event) error {
	if e.URL == "" {
		return nil
	}
	now := s.Now()
	e.Status, e.CreatedAt, e.NextAttemptAt = miniship.EventPending, now, now
	return tx.EnqueueEvent(e)
}
