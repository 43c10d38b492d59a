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

const tokenCols = `value, kind, platform_appid, authorizer_appid, expires_at, used, created_at,
	grant_generation, seq`

func scanToken(r scanner, k *miniship.Token) error {
	return r.Scan(&k.Value, &k.Kind, &k.PlatformAppID, &k.AuthorizerAppID,
		(*nanos)(&k.ExpiresAt), &k.Used, (*nanos)(&k.CreatedAt), &k.Generation, &k.Seq)
}

// PutToken stores a token, replacing one of the same kind and value.
func (t *tx) PutToken(k *miniship.Token) error {
	_, err := t.exec(`INSERT INTO tokens (`+tokenCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (kind, value) DO UPDATE SET platform_appid = excluded.platform_appid,
		authorizer_appid = excluded.authorizer_appid, expires_at = excluded.expires_at,
		used = excluded.used, created_at = excluded.created_at,
		grant_generation = excluded.grant_generation, seq = excluded.seq`,
		k.Value, k.Kind, k.PlatformAppID, k.AuthorizerAppID, nanos(k.ExpiresAt), k.Used, nanos(k.CreatedAt),
		k.Generation, k.Seq)
	return err
}

// IssueToken numbers the token from its owner's count, which the UPDATE
// also locks (PostgreSQL) until the transaction ends, so that two
// issuances of one owner cannot interleave; then it stores the token and
// deletes what falls beyond keep. A grant's tokens are numbered by the
// grant alone, so its trim is a range; a platform's count is shared by its
// kinds (and by the mini programs of its authorization codes), so each
// owner keeps its newest keep by OFFSET along tokens_owner (at most keep
// + 1 entries to walk, as no issuance leaves more).
func (t *tx) IssueToken(k *miniship.Token, keep int) error {
	if k.Kind == miniship.AuthorizerToken {
		if err := t.row(`UPDATE authorizations SET token_seq = token_seq + 1
			WHERE platform_appid = ? AND authorizer_appid = ? RETURNING token_seq`,
			[]any{k.PlatformAppID, k.AuthorizerAppID}, &k.Seq); err != nil {
			return err
		}
		if err := t.PutToken(k); err != nil {
			return err
		}
		_, err := t.exec(`DELETE FROM tokens WHERE platform_appid = ? AND kind = ? AND authorizer_appid = ?
			AND (seq <= ? OR grant_generation <> ?)`,
			k.PlatformAppID, k.Kind, k.AuthorizerAppID, k.Seq-int64(keep), k.Generation)
		return err
	}
	if err := t.row(`UPDATE platforms SET token_seq = token_seq + 1 WHERE appid = ? RETURNING token_seq`,
		[]any{k.PlatformAppID}, &k.Seq); err != nil {
		return err
	}
	if err := t.PutToken(k); err != nil {
		return err
	}
	_, err := t.exec(`DELETE FROM tokens WHERE platform_appid = ? AND kind = ? AND authorizer_appid = ?
		AND seq <= (SELECT seq FROM tokens WHERE platform_appid = ? AND kind = ? AND authorizer_appid = ?
			ORDER BY seq DESC LIMIT 1 OFFSET ?)`,
		k.PlatformAppID, k.Kind, k.AuthorizerAppID, k.PlatformAppID, k.Kind, k.AuthorizerAppID, keep)
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
