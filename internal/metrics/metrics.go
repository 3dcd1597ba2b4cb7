// Package metrics holds nudge's Prometheus collectors (SPEC §7.2), on a registry of their own
// so that tests and several servers in one process do not collide.
package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the collectors the server and the engine update.
type Metrics struct {
	Registry       *prometheus.Registry
	EventsReceived *prometheus.CounterVec // trigger
	Runs           *prometheus.CounterVec // workflow, status
	Messages       *prometheus.CounterVec // status
	SendDuration   prometheus.Histogram   // seconds per provider call
	JobsPending    prometheus.GaugeFunc   // set through New's pending func
	ProviderAuth   *prometheus.GaugeVec   // provider: 1 while it refuses our credentials
}

// New registers the collectors. pending reports the number of jobs waiting to run.
func New(pending func() float64) *Metrics {
	if pending == nil {
		pending = func() float64 { return 0 }
	}
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		EventsReceived: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nudge_events_received_total", Help: "Webhook events stored, by trigger.",
		}, []string{"trigger"}),
		Runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nudge_runs_total", Help: "Workflow runs that reached a status, by workflow and status.",
		}, []string{"workflow", "status"}),
		Messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nudge_messages_total", Help: "Outbound messages that reached a status.",
		}, []string{"status"}),
		SendDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "nudge_send_duration_seconds", Help: "Duration of ChatArchitect send calls.",
			Buckets: prometheus.DefBuckets,
		}),
		JobsPending: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "nudge_jobs_pending", Help: "Jobs waiting to run (available, scheduled or retryable).",
		}, pending),
		ProviderAuth: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "nudge_provider_auth_failing", Help: "1 while a provider refuses nudge's credentials.",
		}, []string{"provider"}),
	}
	m.Registry.MustRegister(m.EventsReceived, m.Runs, m.Messages, m.SendDuration, m.JobsPending, m.ProviderAuth,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
}
