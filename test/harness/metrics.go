package harness

import (
	"context"
	"strconv"
	"strings"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// SumMetric adds up the samples of a metric in Prometheus text whose labels contain every filter
// (for example `action="Create"`).
func SumMetric(text, name string, filters ...string) float64 {
	sum := 0.0
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		match := true
		for _, f := range filters {
			match = match && strings.Contains(line, f)
		}
		if !match {
			continue
		}
		if v, err := strconv.ParseFloat(line[strings.LastIndex(line, " ")+1:], 64); err == nil {
			sum += v
		}
	}
	return sum
}

// writeVerbs are the verbs of apiserver_request_total that change objects.
var writeVerbs = []string{"POST", "PUT", "PATCH", "DELETE", "APPLY"}

// RequestsServed counts the requests an API server answered, from its own apiserver_request_total,
// whose labels contain every filter (for example `code="429"`).
func RequestsServed(ctx context.Context, cfg *rest.Config, filters ...string) (float64, error) {
	raw, err := serverMetrics(ctx, cfg)
	if err != nil {
		return 0, err
	}
	return SumMetric(raw, "apiserver_request_total", filters...), nil
}

func serverMetrics(ctx context.Context, cfg *rest.Config) (string, error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return "", err
	}
	raw, err := cs.RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	return string(raw), err
}

// WritesServed counts the mutating requests an API server has served for the given resources,
// from its own apiserver_request_total: what a client really sent, not what it says it sent.
func WritesServed(ctx context.Context, cfg *rest.Config, resources ...string) (float64, error) {
	raw, err := serverMetrics(ctx, cfg)
	if err != nil {
		return 0, err
	}
	total := 0.0
	for _, resource := range resources {
		for _, verb := range writeVerbs {
			total += SumMetric(raw, "apiserver_request_total", `verb="`+verb+`"`, `resource="`+resource+`"`)
		}
	}
	return total, nil
}

// ServerMetric sums the samples of one of an API server's own metrics whose labels contain every
// filter.
func ServerMetric(ctx context.Context, cfg *rest.Config, name string, filters ...string) (float64, error) {
	raw, err := serverMetrics(ctx, cfg)
	if err != nil {
		return 0, err
	}
	return SumMetric(raw, name, filters...), nil
}

// WatchesOpen counts the watches an API server holds open on a resource (its own
// apiserver_longrunning_requests): whether some informer still watches it.
func WatchesOpen(ctx context.Context, cfg *rest.Config, resource string) (float64, error) {
	raw, err := serverMetrics(ctx, cfg)
	if err != nil {
		return 0, err
	}
	return SumMetric(raw, "apiserver_longrunning_requests", `verb="WATCH"`, `resource="`+resource+`"`), nil
}
