package miniship

import "time"

// RetentionTx prunes history that no API call can return any more, at
// most limit rows per call, so that no prune holds the writer long. Each
// returns how many rows it deleted.
type RetentionTx interface {
	// PruneReleases deletes releases made before the time, except each
	// mini program's newest keep (the rollback history).
	PruneReleases(before time.Time, keep, limit int) (int64, error)
	// PruneAudits deletes audits submitted before the time, except each
	// mini program's latest, those in review, and those a release or a
	// gray plan names.
	PruneAudits(before time.Time, limit int) (int64, error)
	// PruneVersions deletes versions made before the time, except each
	// mini program's latest, and versions with keep or more newer ones of
	// their mini program (keep 0: the age alone); either way not those an
	// audit or a release names.
	PruneVersions(before time.Time, keep, limit int) (int64, error)
	// TrimVersions is the part of PruneVersions a commit runs on its mini
	// program: it deletes, of the few versions just past the newest keep,
	// those no audit or release names. A commit pushes one version past
	// them, so one call a commit keeps the mini program within the bound.
	TrimVersions(authorizerAppID string, keep int) (int64, error)
	// PruneTemplates deletes templates deleted before the time that no
	// version names, of the platform (of every platform when it is "").
	PruneTemplates(platformAppID string, deletedBefore time.Time, limit int) (int64, error)
	// PruneEvents deletes delivered and failed events created before the
	// time, with their attempts.
	PruneEvents(before time.Time, limit int) (int64, error)
	// PruneCounters deletes per-minute counters ("min:…:2006-01-02T15:04")
	// of minutes before minute and per-call daily counters
	// ("call:…:2006-01-02") of days before day.
	PruneCounters(minute, day string, limit int) (int64, error)
	// PruneQuotaCounters deletes the quota counters of months before month
	// ("…:2006-01") and of days before day ("…:2006-01-02"), and the
	// failed sign-in counters ("consent-fail:<code>") of pre-auth codes that
	// are gone.
	PruneQuotaCounters(month, day string, limit int) (int64, error)
	// TableSizes counts the rows of every table.
	TableSizes() (map[string]int64, error)
}
