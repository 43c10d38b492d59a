package wxa

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/miniship/miniship/wxcrypt"
)

// AuthorizationEvent is an authorized, updateauthorized or unauthorized
// notice to the authorization-event URL.
type AuthorizationEvent struct {
	InfoType        string // wxcrypt.InfoTypeAuthorized, …UpdateAuthorized, …Unauthorized
	AuthorizerAppID string
	// AuthorizationCode goes to QueryAuth (not for unauthorized).
	AuthorizationCode            string
	AuthorizationCodeExpiredTime time.Time
	PreAuthCode                  string
	CreateTime                   time.Time
}

// AuditEvent is an audit result pushed to the message URL.
type AuditEvent struct {
	Event      string // wxcrypt.EventWeappAuditSuccess, …Fail, …Delay
	ToUserName string // the mini program's original id (gh_…)
	Reason     string // fail and delay
	ScreenShot string // fail: media ids joined by |
	// Time is SuccTime, FailTime or DelayTime.
	Time       time.Time
	CreateTime time.Time
}

// PushHandlers are the callbacks of PushHandler. Each gets the request, so
// it can read the mini program's appid from a message URL like
// /wechat/{appid}/events (r.PathValue). An error makes the handler answer
// 500 instead of "success", and WeChat pushes the event again.
type PushHandlers struct {
	Authorization func(r *http.Request, e *AuthorizationEvent) error
	Audit         func(r *http.Request, e *AuditEvent) error
	// Other receives every other decrypted message.
	Other func(r *http.Request, m *wxcrypt.Message) error
}

// maxPush bounds a push body; real ones are a few KB.
const maxPush = 1 << 20

// PushHandler serves both the authorization-event URL and the message URL:
// it checks msg_signature, decrypts, stores component_verify_tickets,
// forgets the tokens of a mini program that revoked the authorization,
// hands events to h and answers "success". Needs Options.Token and
// Options.EncodingAESKey; set Options.PushMaxAge to refuse replayed pushes.
func (c *Client) PushHandler(h PushHandlers) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c.crypt == nil {
			c.log.Error("wxa: push received but Options.EncodingAESKey is not set")
			http.Error(w, "push decryption not configured", http.StatusInternalServerError)
			return
		}
		if r.Method != http.MethodPost {
			http.Error(w, "POST only", http.StatusMethodNotAllowed)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, maxPush))
		if err != nil {
			http.Error(w, "cannot read body", http.StatusBadRequest)
			return
		}
		if !c.pushFresh(r.URL.Query().Get("timestamp")) {
			// msg_signature covers the timestamp: an old push cannot be
			// restamped, only replayed as it was.
			c.log.Warn("wxa: rejected push: timestamp outside PushMaxAge", "timestamp", r.URL.Query().Get("timestamp"))
			http.Error(w, "invalid push", http.StatusForbidden)
			return
		}
		inner, err := c.crypt.OpenPush(r.URL.Query(), body)
		if err != nil {
			// Forged, replayed with another key, or misconfigured: never "success".
			c.log.Warn("wxa: rejected push", "err", err)
			status := http.StatusBadRequest
			if errors.Is(err, wxcrypt.ErrValidateSignature) {
				status = http.StatusForbidden
			}
			http.Error(w, "invalid push", status)
			return
		}
		m, err := wxcrypt.ParseMessage(inner)
		if err != nil {
			c.log.Warn("wxa: rejected push", "err", err)
			http.Error(w, "invalid push", http.StatusBadRequest)
			return
		}
		if err := c.dispatch(r, m, h); err != nil {
			c.log.Error("wxa: push not handled", "type", m.Type(), "err", err)
			http.Error(w, "push not handled", http.StatusInternalServerError)
			return
		}
		io.WriteString(w, "success")
	})
}

// pushFresh reports whether a push's timestamp is within PushMaxAge of Now
// (always, without PushMaxAge).
func (c *Client) pushFresh(timestamp string) bool {
	if c.o.PushMaxAge <= 0 {
		return true
	}
	sec, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return false
	}
	d := c.o.Now().Sub(time.Unix(sec, 0))
	return d <= c.o.PushMaxAge && d >= -c.o.PushMaxAge
}

func (c *Client) dispatch(r *http.Request, m *wxcrypt.Message, h PushHandlers) error {
	ctx := r.Context()
	switch t := m.Type(); t {
	case wxcrypt.InfoTypeComponentVerifyTicket:
		c.log.Debug("wxa: component_verify_ticket pushed", "component", c.o.ComponentAppID)
		return c.store.Set(ctx, c.ticketKey(), Token{Value: string(m.ComponentVerifyTicket), ExpiresAt: c.o.Now().Add(ticketTTL)})
	case wxcrypt.InfoTypeAuthorized, wxcrypt.InfoTypeUpdateAuthorized, wxcrypt.InfoTypeUnauthorized:
		appid := string(m.AuthorizerAppid)
		if t == wxcrypt.InfoTypeUnauthorized {
			// Its tokens now answer 61003; keeping them only hides that.
			if err := errors.Join(
				c.store.Delete(ctx, c.authorizerKey(appid), ""),
				c.store.Delete(ctx, c.refreshKey(appid), ""),
			); err != nil {
				return err
			}
		}
		if h.Authorization == nil {
			return nil
		}
		return h.Authorization(r, &AuthorizationEvent{
			InfoType:                     t,
			AuthorizerAppID:              appid,
			AuthorizationCode:            string(m.AuthorizationCode),
			AuthorizationCodeExpiredTime: unix(m.AuthorizationCodeExpiredTime),
			PreAuthCode:                  string(m.PreAuthCode),
			CreateTime:                   unix(m.CreateTime),
		})
	case wxcrypt.EventWeappAuditSuccess, wxcrypt.EventWeappAuditFail, wxcrypt.EventWeappAuditDelay:
		if h.Audit == nil {
			return nil
		}
		return h.Audit(r, &AuditEvent{
			Event:      t,
			ToUserName: string(m.ToUserName),
			Reason:     string(m.Reason),
			ScreenShot: string(m.ScreenShot),
			Time:       unix(max(m.SuccTime, m.FailTime, m.DelayTime)),
			CreateTime: unix(m.CreateTime),
		})
	}
	if h.Other != nil {
		return h.Other(r, m)
	}
	return nil
}

// unix converts WeChat's seconds; a missing time is the zero Time.
func unix(sec int64) time.Time {
	if sec == 0 {
		return time.Time{}
	}
	return time.Unix(sec, 0)
}
