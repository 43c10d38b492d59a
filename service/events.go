package service

import (
	"encoding/xml"
	"fmt"
	"time"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/wxcrypt"
)

// The inner XML of every push is one of wxcrypt's typed messages, so the
// server and the SDK share one description of each message (field order,
// CDATA for text, bare numbers for times) instead of two XML builders.

// systemOpenID is the FromUserName of system events: an OpenID-shaped
// constant, as WeChat sends a system account's.
const systemOpenID = "o0000000000000000000000000000"

// payload renders a typed message. The types are fixed structs of strings
// and integers, which encoding/xml cannot fail on; a failure is a bug.
func payload(msg any) string {
	b, err := xml.Marshal(msg)
	if err != nil {
		panic("miniship: push payload: " + err.Error())
	}
	return string(b)
}

// platformNotice is a push to the authorization-event URL: tickets and
// authorization changes.
func platformNotice(p *miniship.Platform, infoType string, msg any) *miniship.Event {
	e := &miniship.Event{
		PlatformAppID: p.AppID,
		Kind:          infoType,
		EnvelopeKind:  miniship.EnvelopeAppID,
		EnvelopeTo:    p.AppID,
		Payload:       payload(msg),
	}
	e.URL = p.PushURL(e)
	return e
}

// authorizationEvent is an authorized / updateauthorized / unauthorized
// notice; the code fields are empty (and omitted) for unauthorized.
func authorizationEvent(p *miniship.Platform, infoType string, now time.Time, authorizer, code string, codeExpires time.Time, preAuthCode string) *miniship.Event {
	ev := &wxcrypt.AuthorizationEvent{
		AppID: wxcrypt.CDATA(p.AppID), CreateTime: now.Unix(), InfoType: wxcrypt.CDATA(infoType),
		AuthorizerAppid: wxcrypt.CDATA(authorizer), AuthorizationCode: wxcrypt.CDATA(code),
		PreAuthCode: wxcrypt.CDATA(preAuthCode),
	}
	if !codeExpires.IsZero() {
		ev.AuthorizationCodeExpiredTime = codeExpires.Unix()
	}
	return platformNotice(p, infoType, ev)
}

// miniProgramEvent is a push to the message URL about one mini program
// (audit results, privacy-interface decisions); $APPID$ in the URL names
// the mini program.
func miniProgramEvent(p *miniship.Platform, a *miniship.Authorizer, kind string, msg any) *miniship.Event {
	e := &miniship.Event{
		PlatformAppID:   p.AppID,
		AuthorizerAppID: a.AppID,
		Kind:            kind,
		EnvelopeKind:    miniship.EnvelopeToUserName,
		EnvelopeTo:      a.OriginalID,
		Payload:         payload(msg),
	}
	e.URL = p.PushURL(e)
	return e
}

// enqueue writes a push to the outbox inside the caller's transaction, so
// the event exists exactly when the state change it reports does.
//
// A component_verify_ticket push supersedes the platform's undelivered
// ones, which are deleted first: a receiver needs only the newest ticket,
// and api_start_push_ticket, which the platform may call as often as it
// likes, would otherwise queue a push a call for a receiver that cannot
// take them (80,557 in 30 s, days of retries). So a platform has one
// ticket push pending at most.
//
// Every other push reports a state change that has quotas of its own (an
// audit, a category or privacy-interface decision) except the
// authorization pushes, which a merchant's consent makes, as often as the
// platform hands out pre-auth codes. So the platform's pushes waiting are
// capped too, at Config.MaxPendingPushes: past it those waiting longest
// for an attempt fail, with an attempt saying why, and can be resent once
// the receiver is back.
func (s *Service) enqueue(tx miniship.Tx, e *miniship.Event) error {
	if e.URL == "" {
		return nil
	}
	if e.Kind == wxcrypt.InfoTypeComponentVerifyTicket {
		if _, err := tx.DropPendingEvents(e.PlatformAppID, e.Kind); err != nil {
			return err
		}
	}
	now := s.Now()
	most := s.cfg.MaxPendingPushes
	if _, err := tx.CapPendingEvents(e.PlatformAppID, most-1, now, fmt.Sprintf(
		"not sent: the platform had %d pushes waiting, the most miniship keeps; those waiting longest fail as new ones are queued", most)); err != nil {
		return err
	}
	e.Status, e.CreatedAt, e.NextAttemptAt = miniship.EventPending, now, now
	return tx.EnqueueEvent(e)
}
