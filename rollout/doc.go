// Package rollout is the engine of `miniship rollout`: it takes one
// template to thousands of mini programs through commit, the privacy scan,
// submit_audit, the audit result, an optional gray release and release,
// against WeChat or a miniship server, and survives being interrupted.
//
// # Plan
//
// A Plan (YAML or JSON, testdata/plan.yaml is a documented example) names
// the template, the targets (inline or a .csv/.json/.jsonl file, each an
// appid with optional values and refresh token), an ext_json text/template
// rendered per target ({{json .name}} writes a value as a JSON literal),
// the submit_audit body, the steps and the gray percentages.
//
// Loading a plan checks all of it, the targets included: it reads them
// once (holding their appids, not their values) and refuses no targets at
// all (an empty targets file too), a target without appid and an appid
// listed twice. So DryRun refuses what a run would, and a run refuses them
// before it creates or binds its state file. Credentials.CheckRefreshTokens
// does the same for the refresh tokens given as a file or a map: every
// entry complete, a target's appid given once.
//
// # Scheduling and memory
//
// Targets are streamed into the SQLite state file, never held. The agenda
// is in memory: the apps under way (a few dozen bytes each; ext values stay
// in the file) and a window of new apps read from the file in target
// order. A dispatcher hands due apps, those under way before new ones, to
// a fixed pool of Concurrency workers; a worker takes an app as far as it
// can without waiting and gives it back: done, failed, or waiting with a
// time (the privacy scan and the audit are polled, gray steps wait
// Gray.Wait). A waiting audit costs no goroutine, and the first releases
// come while the fleet is still being committed. The file is the durable
// log: every update (token writes included) goes through one writer that
// commits all updates queued at that moment in one transaction (prepared
// statements), in order, each writing the whole row. A worker waits only
// for the in-flight marks (below); a step done that the worker follows
// with another call rides on the next write, and a poll answered "not
// yet" is not written. The authorizer tokens in use are cached in front of
// the file. All requests, token calls included, share one rate limiter.
//
// Each waiting app's row records what it waits for and since when, so a
// resumed run applies the plan's current waits (a poll shortened in the
// plan applies to apps already waiting), and --verbose and the progress
// bars say what each step's waiting apps wait for and when the first is
// checked next.
//
// # Resuming without duplicates
//
// Each app's row records the last completed step, the auditid, the gray
// percentage reached, the last failure (errcode, errmsg) and the attempts.
// A run that stops (Ctrl-C, a crash, a lost network) resumes from those
// rows when started again with the same state file; completed steps are
// never repeated.
//
// The gap is a call that took effect while its answer was lost. Before
// commit, submit_audit and release — the calls with effects that must not
// happen twice — the row is marked in flight, durably, and the mark is
// cleared only with the step's completion. An app found in flight (after a
// crash, or after a network error) is checked before the call is repeated:
//
//   - commit: getversioninfo; an experience version with the plan's
//     user_version means the commit happened. A commit the server is still
//     processing is not shown yet, so the look comes no earlier than
//     Config.CommitWait (30 s, longer than a commit takes) after the mark:
//     the mark itself schedules it, in this run (a timeout) as after a
//     crash. Should the server still be processing (a commit outlasting
//     CommitWait), the repeated commit is answered 9402202; it is made
//     without the SDK's retries (wxa.WithoutRetry), and 9402202 sends the
//     app back to wait CommitWait again, still in flight, before the next
//     look.
//   - submit_audit: get_latest_auditstatus; an audit of the plan's
//     user_version other than the one already known is adopted. 85009
//     (already in review) is checked the same way.
//   - release: getversioninfo; an online version with the plan's
//     user_version means the release happened (also on 85052).
//
// The user_version therefore identifies the rollout: the state file is
// bound to the template id and user_version, and a plan with others needs
// a new state file (or --reset). One process at a time may use a state
// file; it holds SQLite's exclusive lock. The file also keeps the authorizer
// tokens (and refresh tokens WeChat rotated), so it is created mode 0600.
//
// submit_audit and release keep the SDK's retries: a second audit cannot
// start while one is in review (85009, checked as above), a second release
// of the same version is 85052, and 9402202 there means a commit under
// way, not a submission or release of this rollout.
//
// Two limits remain. The check and the repeated commit are two calls: a
// commit that outlasts CommitWait and ends in the milliseconds between
// them is neither seen nor refused, and the app is committed twice; with
// CommitWait longer than the server's commits this cannot happen. And the
// state file is written with synchronous=NORMAL: a killed process loses
// nothing, a power cut may lose the last marks.
//
// # Failures
//
// The SDK retries -1, 45011 and 9402202 itself, except for a commit
// repeated after one in flight (see above). A step that still fails with
// one of them, a network error or a 5xx is tried again later in the run,
// up to MaxAttempts; other errcodes, rejected audits and bad ext_json stop
// the app for this run. The next run retries failed apps from the
// step that failed. 61039 at submit_audit sends the app back to wait for
// the scan; it never re-commits. A gray step answered 85079 (no online
// version: a first release) releases directly.
//
// DryRun renders every ext_json and applies it to a local copy of the
// template with the commit engine (package extjson), offline.
package rollout
