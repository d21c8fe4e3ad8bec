// Package metrics is pollhook's Prometheus instrumentation: counters the
// job engine updates as it works, and gauges read from the database at
// scrape time (queue depth, suspended callbacks, upstream quota), so every
// replica reports the same truth.
//
// Nothing in it names a tenant: upstream accounts are labelled by a keyed
// hash (AccountLabel), and RequireToken can keep /metrics to the scraper.
package metrics

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/pollhook/pollhook/internal/store"
)

// Metrics holds the instruments. A nil *Metrics records nothing.
type Metrics struct {
	reg             *prometheus.Registry
	polls           *prometheus.CounterVec
	records         prometheus.Counter
	events          *prometheus.CounterVec
	notifications   prometheus.Counter
	attempts        *prometheus.CounterVec
	suspensions     prometheus.Counter
	deliveryLatency prometheus.Histogram
	pollDelay       prometheus.Histogram
	accountKey      []byte
	deferred        *prometheus.CounterVec
	forecasts       atomic.Pointer[ForecastFunc]
	// OnPollStart, when set, sees every scheduled poll's start delay
	// (benchmarks read exact percentiles from it).
	OnPollStart func(late time.Duration)
}

// AccountKeyPurpose is what the account label key is derived for, from
// the encryption keys (seal.Keyring.Derive), so that every replica
// labels an account alike.
const AccountKeyPurpose = "pollhook metrics account label"

// New registers the instruments and the database gauges. accountKey keys
// the account labels (AccountLabel); replicas must share it to agree on
// labels. Without one, a random key is used: labels still name no
// account, but differ between processes.
func New(st *store.Store, accountKey []byte) *Metrics {
	if len(accountKey) == 0 {
		accountKey = make([]byte, 32)
		rand.Read(accountKey)
	}
	m := &Metrics{reg: prometheus.NewRegistry(), accountKey: accountKey}
	m.polls = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pollhook_polls_total",
		Help: "Poll jobs by result: ok, failed, paused (401, 403/404, quota), not_due, deferred (due, but gave the worker back)."}, []string{"result"})
	m.records = prometheus.NewCounter(prometheus.CounterOpts{Name: "pollhook_records_read_total",
		Help: "Records read from upstreams by poll runs."})
	m.events = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pollhook_events_total",
		Help: "Events reported, by type: CREATED, UPDATED, DELETED."}, []string{"type"})
	m.notifications = prometheus.NewCounter(prometheus.CounterOpts{Name: "pollhook_notifications_total",
		Help: "Notifications queued for delivery (one per event, or one per batch)."})
	m.attempts = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pollhook_delivery_attempts_total",
		Help: "Delivery attempts by result: delivered or failed."}, []string{"result"})
	m.suspensions = prometheus.NewCounter(prometheus.CounterOpts{Name: "pollhook_callback_suspensions_total",
		Help: "Callbacks suspended after a 410 or a spent retry schedule."})
	m.deliveryLatency = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "pollhook_delivery_latency_seconds",
		Help:    "From a notification's creation (its events' commit) to its delivery.",
		Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 3600, 36000}})
	m.pollDelay = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "pollhook_poll_start_delay_seconds",
		Help:    "How late scheduled polls start: from when a poll was due (last run + interval) to its start.",
		Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300}})
	m.deferred = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pollhook_jobs_deferred_total",
		Help: "Jobs that gave their worker back and snoozed briefly, by kind (poll, deliver) and reason: " +
			"account_busy (the upstream account had no request slot free), org_cap (the organization ran its cap of jobs of that kind)."},
		[]string{"kind", "reason"})
	m.reg.MustRegister(m.deferred, m.pollDelay, m.polls, m.records, m.events, m.notifications, m.attempts, m.suspensions, m.deliveryLatency,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if st != nil {
		m.reg.MustRegister(&dbCollector{st: st, label: m.AccountLabel, forecasts: &m.forecasts})
	}
	return m
}

// AccountLabel is how /metrics names an upstream account: the first 12
// hex digits (48 bits) of HMAC-SHA256(account) under the account key. It
// names no tenant to whoever reads /metrics, yet is stable across
// replicas and restarts (while the newest encryption key stays), and the
// instance's poll status shows it next to the account. A nil *Metrics
// gives "".
func (m *Metrics) AccountLabel(account string) string {
	if m == nil {
		return ""
	}
	mac := hmac.New(sha256.New, m.accountKey)
	io.WriteString(mac, account)
	return hex.EncodeToString(mac.Sum(nil))[:12]
}

// Handler serves /metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// RequireToken lets through only requests carrying "Authorization:
// Bearer <token>" (the scheme in any case), compared in constant time;
// others get a 401 that repeats nothing they sent. An empty token lets
// everything through.
func RequireToken(token string, next http.Handler) http.Handler {
	if token == "" {
		return next
	}
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, got, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		// Hashing both sides makes the comparison's time independent of
		// the length of what was sent, too.
		sum := sha256.Sum256([]byte(got))
		if !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="pollhook metrics"`)
			http.Error(w, "/metrics needs the header 'Authorization: Bearer <metrics token>' (see --metrics-token)", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// PollStats is what a poll run read and reported.
type PollStats struct {
	Records, Created, Updated, Notifications int
}

// Poll counts a poll job's outcome and what the run read and reported.
func (m *Metrics) Poll(result string, s PollStats) {
	if m == nil {
		return
	}
	m.polls.WithLabelValues(result).Inc()
	m.records.Add(float64(s.Records))
	for typ, n := range map[string]int{"CREATED": s.Created, "UPDATED": s.Updated} {
		if n > 0 {
			m.events.WithLabelValues(typ).Add(float64(n))
		}
	}
	m.notifications.Add(float64(s.Notifications))
}

// Attempt counts a delivery attempt; latency is set for deliveries.
func (m *Metrics) Attempt(result string, latency time.Duration) {
	if m == nil {
		return
	}
	m.attempts.WithLabelValues(result).Inc()
	if result == "delivered" {
		m.deliveryLatency.Observe(latency.Seconds())
	}
}

var (
	queueDesc     = prometheus.NewDesc("pollhook_notifications_pending", "Notifications not yet delivered, by status.", []string{"status"}, nil)
	suspendedDesc = prometheus.NewDesc("pollhook_callbacks_suspended", "Callbacks suspended after their retries ran out or a 410.", nil, nil)
	quotaDesc     = prometheus.NewDesc("pollhook_upstream_quota_remaining", "Requests left in each upstream account's daily quota (0 while spent); "+
		"account is a keyed hash of the account, shown as metricsLabel in an instance's poll status.", []string{"account"}, nil)

	forecastDesc = prometheus.NewDesc("pollhook_upstream_quota_forecast_per_day", "Upstream calls per day the configuration of every instance "+
		"using each upstream account implies (the quota forecast); account is the keyed hash.", []string{"account"}, nil)
	stretchDesc = prometheus.NewDesc("pollhook_upstream_quota_stretch", "Factor applied to the poll intervals of each upstream account "+
		"to leave the quota reserve to other apps (1: none); account is the keyed hash.", []string{"account"}, nil)
)

// AccountForecast is an upstream account's quota forecast as /metrics
// reports it.
type AccountForecast struct {
	PerDay  float64 // calls per day the configuration implies
	Stretch float64 // the factor applied to its poll intervals
}

// ForecastFunc reads every polled account's forecast from the database,
// keyed by account.
type ForecastFunc func(ctx context.Context) (map[string]AccountForecast, error)

// SetForecasts makes /metrics report the accounts' quota forecasts, read
// by f at scrape time (the poller computes them; this package cannot
// import it). A nil *Metrics ignores it.
func (m *Metrics) SetForecasts(f ForecastFunc) {
	if m == nil || f == nil {
		return
	}
	m.forecasts.Store(&f)
}

// dbCollector reads gauges from the database at scrape time.
type dbCollector struct {
	st        *store.Store
	label     func(account string) string
	forecasts *atomic.Pointer[ForecastFunc]
}

func (c *dbCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- queueDesc
	ch <- suspendedDesc
	ch <- quotaDesc
	ch <- forecastDesc
	ch <- stretchDesc
}

func (c *dbCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	g, err := c.st.Gauges(ctx, time.Now())
	if err != nil {
		return
	}
	for _, s := range []string{store.NotificationCreated, store.NotificationRetry, store.NotificationQueued} {
		ch <- prometheus.MustNewConstMetric(queueDesc, prometheus.GaugeValue, float64(g.Pending[s]), s)
	}
	ch <- prometheus.MustNewConstMetric(suspendedDesc, prometheus.GaugeValue, float64(g.Suspended))
	// Two accounts whose labels collide (one chance in 2^48 per pair)
	// would break the whole scrape with a duplicate series: report the
	// lower quota under the label instead.
	left := map[string]int{}
	for account, n := range g.QuotaLeft {
		l := c.label(account)
		if prev, ok := left[l]; !ok || n < prev {
			left[l] = n
		}
	}
	for l, n := range left {
		ch <- prometheus.MustNewConstMetric(quotaDesc, prometheus.GaugeValue, float64(n), l)
	}
	c.collectForecasts(ctx, ch)
}

// collectForecasts reports the accounts' forecasts; on a label collision,
// the higher forecast and stretch.
func (c *dbCollector) collectForecasts(ctx context.Context, ch chan<- prometheus.Metric) {
	f := c.forecasts.Load()
	if f == nil {
		return
	}
	all, err := (*f)(ctx)
	if err != nil {
		return
	}
	byLabel := map[string]AccountForecast{}
	for account, fc := range all {
		l := c.label(account)
		prev := byLabel[l]
		byLabel[l] = AccountForecast{PerDay: max(prev.PerDay, fc.PerDay), Stretch: max(prev.Stretch, fc.Stretch)}
	}
	for l, fc := range byLabel {
		ch <- prometheus.MustNewConstMetric(forecastDesc, prometheus.GaugeValue, fc.PerDay, l)
		ch <- prometheus.MustNewConstMetric(stretchDesc, prometheus.GaugeValue, fc.Stretch, l)
	}
}

// Suspended counts a callback's suspension.
func (m *Metrics) Suspended() {
	if m == nil {
		return
	}
	m.suspensions.Inc()
}

// Scanned counts what a delete scan reported.
func (m *Metrics) Scanned(deleted, notifications int) {
	if m == nil {
		return
	}
	if deleted > 0 {
		m.events.WithLabelValues("DELETED").Add(float64(deleted))
	}
	m.notifications.Add(float64(notifications))
}

// PollStarted records how late a scheduled poll started.
func (m *Metrics) PollStarted(late time.Duration) {
	if m == nil {
		return
	}
	m.pollDelay.Observe(max(late, 0).Seconds())
	if m.OnPollStart != nil {
		m.OnPollStart(late)
	}
}

// Deferred counts a job that gave its worker back before doing its work:
// kind "poll" or "deliver", reason "account_busy" or "org_cap".
func (m *Metrics) Deferred(kind, reason string) {
	if m == nil {
		return
	}
	m.deferred.WithLabelValues(kind, reason).Inc()
}
