package sqlstore

import (
	"time"

	"github.com/miniship/miniship"
)

// Creates use ON CONFLICT DO NOTHING and report ErrConflict when no row was
// inserted, rather than letting the key violation fail the statement: on
// PostgreSQL that would abort the whole transaction, and a caller may well
// go on after ErrConflict. Updates write every field but the key and
// CreatedAt, and report ErrNotFound when no row has the key.

// --- platforms ------------------------------------------------------------

const platformCols = `appid, secret, token, encoding_aes_key, auth_event_url, message_url,
	verify_ticket, ticket_at, audit_quota, speedup_quota, created_at`

func scanPlatform(r scanner, p *miniship.Platform) error {
	return r.Scan(&p.AppID, &p.Secret, &p.Token, &p.EncodingAESKey, &p.AuthEventURL, &p.MessageURL,
		&p.VerifyTicket, (*nanos)(&p.TicketAt), &p.AuditQuota, &p.SpeedupQuota, (*nanos)(&p.CreatedAt))
}

func (t *tx) CreatePlatform(p *miniship.Platform) error {
	return t.affect(miniship.ErrConflict, `INSERT INTO platforms (`+platformCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		p.AppID, p.Secret, p.Token, p.EncodingAESKey, p.AuthEventURL, p.MessageURL,
		p.VerifyTicket, nanos(p.TicketAt), p.AuditQuota, p.SpeedupQuota, nanos(p.CreatedAt))
}

func (t *tx) GetPlatform(appid string) (*miniship.Platform, error) {
	return one(t, scanPlatform, `SELECT `+platformCols+` FROM platforms WHERE appid = ?`, appid)
}

// LockPlatform is GetPlatform that, inside Update on PostgreSQL, holds the
// row until the transaction ends (see LockAuthorizer).
func (t *tx) LockPlatform(appid string) (*miniship.Platform, error) {
	q := `SELECT ` + platformCols + ` FROM platforms WHERE appid = ?`
	if t.write {
		q += t.d.forUpdate
	}
	return one(t, scanPlatform, q, appid)
}

func (t *tx) ListPlatforms() ([]*miniship.Platform, error) {
	return all(t, scanPlatform, `SELECT `+platformCols+` FROM platforms ORDER BY appid`)
}

func (t *tx) UpdatePlatform(p *miniship.Platform) error {
	return t.affect(miniship.ErrNotFound, `UPDATE platforms SET secret = ?, token = ?,
		encoding_aes_key = ?, auth_event_url = ?, message_url = ?, verify_ticket = ?,
		ticket_at = ?, audit_quota = ?, speedup_quota = ? WHERE appid = ?`,
		p.Secret, p.Token, p.EncodingAESKey, p.AuthEventURL, p.MessageURL, p.VerifyTicket,
		nanos(p.TicketAt), p.AuditQuota, p.SpeedupQuota, p.AppID)
}

// --- tokens ---------------------------------------------------------------

const tokenCols = `value, kind, platform_appid, authorizer_appid, expires_at, used, created_at, grant_generation`

func scanToken(r scanner, k *miniship.Token) error {
	return r.Scan(&k.Value, &k.Kind, &k.PlatformAppID, &k.AuthorizerAppID,
		(*nanos)(&k.ExpiresAt), &k.Used, (*nanos)(&k.CreatedAt), &k.Generation)
}

// PutToken stores a token, replacing one of the same kind and value.
func (t *tx) PutToken(k *miniship.Token) error {
	_, err := t.exec(`INSERT INTO tokens (`+tokenCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (kind, value) DO UPDATE SET platform_appid = excluded.platform_appid,
		authorizer_appid = excluded.authorizer_appid, expires_at = excluded.expires_at,
		used = excluded.used, created_at = excluded.created_at, grant_generation = excluded.grant_generation`,
		k.Value, k.Kind, k.PlatformAppID, k.AuthorizerAppID, nanos(k.ExpiresAt), k.Used, nanos(k.CreatedAt), k.Generation)
	return err
}

func (t *tx) GetToken(kind miniship.TokenKind, value string) (*miniship.Token, error) {
	return one(t, scanToken, `SELECT `+tokenCols+` FROM tokens WHERE kind = ? AND value = ?`, kind, value)
}

// UseToken marks a single-use code used in one conditional UPDATE, so two
// transactions racing for the same code cannot both win; ErrNotFound when
// there is no such token.
func (t *tx) UseToken(kind miniship.TokenKind, value string) (bool, error) {
	err := t.affect(miniship.ErrNotFound, `UPDATE tokens SET used = TRUE
		WHERE kind = ? AND value = ? AND NOT used`, kind, value)
	if err != miniship.ErrNotFound {
		return err == nil, err
	}
	var used bool
	return false, t.row(`SELECT used FROM tokens WHERE kind = ? AND value = ?`, []any{kind, value}, &used)
}

// DeleteExpiredTokens deletes the tokens that expired before the time.
func (t *tx) DeleteExpiredTokens(before time.Time) (int64, error) {
	res, err := t.exec(`DELETE FROM tokens WHERE expires_at < ?`, nanos(before))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
