package chart

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/yaml"

	"github.com/drsyncer/dr-syncer/pkg/metrics"
)

// alertRules renders the chart's PrometheusRule and writes its groups as a Prometheus rule file.
func alertRules(t *testing.T) (path string, rules []map[string]any) {
	t.Helper()
	pr := find(render(t, "prometheusRule.enabled=true"), "PrometheusRule", "dr-syncer")
	if pr == nil {
		t.Fatal("no PrometheusRule rendered")
	}
	spec := pr.Object["spec"].(map[string]any)
	b, err := yaml.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, g := range spec["groups"].([]any) {
		for _, r := range g.(map[string]any)["rules"].([]any) {
			rules = append(rules, r.(map[string]any))
		}
	}
	return path, rules
}

func promtool(t *testing.T, args ...string) {
	t.Helper()
	bin := filepath.Join(root, "bin", "promtool")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("%s is missing: run make tools", bin)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = filepath.Dir(args[len(args)-1])
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// alertTests feeds each alert synthetic series: one that must fire it and one that must not.
const alertTests = `
rule_files: [rules.yaml]
evaluation_interval: 1m
tests:
- interval: 1m
  input_series:
  # shop drifts at 15m (its series was at 0 before: dr-syncer serves it from the first pass);
  # quiet drifted long ago; fresh drifts right after a restart, its series appearing at 1.
  - series: 'drsyncer_drift_detected_total{replication="shop",target="dr",kind="ConfigMap"}'
    values: '0x14 1x40'
  - series: 'drsyncer_drift_detected_total{replication="quiet",target="dr",kind="ConfigMap"}'
    values: '3x55'
  - series: 'drsyncer_drift_detected_total{replication="fresh",target="dr",kind="Secret"}'
    values: '_x14 1x40'
  alert_rule_test:
  - {eval_time: 13m, alertname: DrSyncerDriftDetected, exp_alerts: []}
  - eval_time: 17m
    alertname: DrSyncerDriftDetected
    exp_alerts:
    - exp_labels: {severity: warning, replication: fresh, target: dr}
      exp_annotations:
        summary: DR copies of fresh drifted on dr
        description: Objects were changed or deleted on the DR cluster. Under drift policy Correct they were re-applied; under Report they still differ. See the replication's DriftDetected events.
    - exp_labels: {severity: warning, replication: shop, target: dr}
      exp_annotations:
        summary: DR copies of shop drifted on dr
        description: Objects were changed or deleted on the DR cluster. Under drift policy Correct they were re-applied; under Report they still differ. See the replication's DriftDetected events.
  - {eval_time: 40m, alertname: DrSyncerDriftDetected, exp_alerts: []}
- interval: 1m
  input_series:
  # Continuous (drift interval 5m): a target last synced at t=0, and one synced every minute.
  - series: 'drsyncer_replication_expected_interval_seconds{replication="shop"}'
    values: '300x40'
  - series: 'drsyncer_replication_last_sync_timestamp_seconds{replication="shop",target="dr"}'
    values: '0x40'
  - series: 'drsyncer_replication_last_sync_timestamp_seconds{replication="shop",target="dr2"}'
    values: '0+60x40'
  alert_rule_test:
  - {eval_time: 16m, alertname: DrSyncerReplicationStale, exp_alerts: []}
  - eval_time: 21m
    alertname: DrSyncerReplicationStale
    exp_alerts:
    - exp_labels: {severity: critical, replication: shop, target: dr}
      exp_annotations:
        summary: Replication shop has not synced to dr for longer than its schedule allows
        description: The DR copy is getting old. Check the replication's Ready condition and status.targets[].problems.
- interval: 1m
  input_series:
  # Scheduled hourly, synced at t=0: not stale until two periods have passed.
  - series: 'drsyncer_replication_expected_interval_seconds{replication="nightly"}'
    values: '3600x200'
  - series: 'drsyncer_replication_last_sync_timestamp_seconds{replication="nightly",target="dr"}'
    values: '0x200'
  alert_rule_test:
  - {eval_time: 90m, alertname: DrSyncerReplicationStale, exp_alerts: []}
  - eval_time: 130m
    alertname: DrSyncerReplicationStale
    exp_alerts:
    - exp_labels: {severity: critical, replication: nightly, target: dr}
      exp_annotations:
        summary: Replication nightly has not synced to dr for longer than its schedule allows
        description: The DR copy is getting old. Check the replication's Ready condition and status.targets[].problems.
- interval: 1m
  input_series:
  # Manual: no expected interval, never stale however old its last pass.
  - series: 'drsyncer_replication_last_sync_timestamp_seconds{replication="by-hand",target="dr"}'
    values: '0x700'
  alert_rule_test:
  - {eval_time: 10h, alertname: DrSyncerReplicationStale, exp_alerts: []}
- interval: 1m
  input_series:
  - series: 'drsyncer_remotecluster_up{cluster="dr"}'
    values: '1x2 0x20'
  - series: 'drsyncer_remotecluster_up{cluster="dr2"}'
    values: '1x22'
  alert_rule_test:
  - {eval_time: 5m, alertname: DrSyncerRemoteClusterDown, exp_alerts: []}
  - eval_time: 9m
    alertname: DrSyncerRemoteClusterDown
    exp_alerts:
    - exp_labels: {severity: critical, cluster: dr}
      exp_annotations:
        summary: DR cluster dr does not answer
        description: The RemoteCluster's Ready condition says why (Secret, kubeconfig or network).
- interval: 1m
  input_series:
  - series: 'drsyncer_failover_ready{replication="shop",target="dr"}'
    values: '1x5 0x30'
  - series: 'drsyncer_failover_ready{replication="ledger",target="dr"}'
    values: '1x36'
  alert_rule_test:
  - {eval_time: 15m, alertname: DrSyncerFailoverNotReady, exp_alerts: []}
  - eval_time: 25m
    alertname: DrSyncerFailoverNotReady
    exp_alerts:
    - exp_labels: {severity: warning, replication: shop, target: dr}
      exp_annotations:
        summary: The DR copies of shop on dr could not run at failover
        description: Objects the copies need are missing on the DR cluster; status.targets[].failoverBlockers lists them, and kubectl drsyncer promote refuses until they are there.
- interval: 1m
  input_series:
  - series: 'controller_runtime_webhook_requests_total{webhook="/mutate-v1-object",code="500"}'
    values: '0+2x30'
  - series: 'controller_runtime_webhook_requests_total{webhook="/mutate-v1-object",code="200"}'
    values: '0+100x30'
  alert_rule_test:
  - {eval_time: 8m, alertname: DrSyncerWebhookErrors, exp_alerts: []}
  - eval_time: 20m
    alertname: DrSyncerWebhookErrors
    exp_alerts:
    - exp_labels: {severity: warning}
      exp_annotations:
        summary: dr-syncer's admission webhooks return errors
        description: Labeling falls back to the controller's periodic pass; validation of dr-syncer's own resources may fail. Check the manager's logs.
`

func TestAlertsFireOnTheirConditionOnly(t *testing.T) {
	rules, all := alertRules(t)
	promtool(t, "check", "rules", rules)
	tests := filepath.Join(filepath.Dir(rules), "tests.yaml")
	if err := os.WriteFile(tests, []byte(alertTests), 0o644); err != nil {
		t.Fatal(err)
	}
	promtool(t, "test", "rules", tests)
	var tested []string
	for _, r := range all {
		tested = append(tested, r["alert"].(string))
	}
	for _, name := range tested {
		if !strings.Contains(alertTests, "alertname: "+name) {
			t.Errorf("alert %s has no promtool test", name)
		}
	}
}

var (
	descName    = regexp.MustCompile(`fqName: "([^"]+)"`)
	descLabels  = regexp.MustCompile(`variableLabels: \{([^}]*)\}`)
	printsLabel = regexp.MustCompile(`\$labels\.(\w+)`)
	groupsBy    = regexp.MustCompile(`by \(([^)]*)\)`)
	joinedOn    = regexp.MustCompile(`on \(([^)]*)\) group_left`)
	ownMetric   = regexp.MustCompile(`drsyncer_\w+`)
)

// TestAlertsUseMetricsDrSyncerServes guards against an alert that can never fire: every drsyncer_
// metric an expression names exists, with every label the expression groups by or prints.
func TestAlertsUseMetricsDrSyncerServes(t *testing.T) {
	served := map[string][]string{} // metric: its labels
	for _, c := range metrics.All {
		descs := make(chan *prometheus.Desc, 4)
		c.Describe(descs)
		close(descs)
		for d := range descs {
			// Desc{fqName: "x", help: "...", constLabels: {}, variableLabels: {a,b}}
			s := d.String()
			name := descName.FindStringSubmatch(s)[1]
			labels := descLabels.FindStringSubmatch(s)[1]
			served[name] = strings.Split(labels, ",")
		}
	}
	_, rules := alertRules(t)
	for _, r := range rules {
		expr := r["expr"].(string)
		used := printsLabel.FindAllStringSubmatch(r["annotations"].(map[string]any)["summary"].(string), -1)
		for _, by := range groupsBy.FindAllStringSubmatch(expr, -1) {
			for _, l := range strings.Split(by[1], ",") {
				used = append(used, []string{"", strings.TrimSpace(l)})
			}
		}
		// A metric joined with group_left needs only the labels it is joined on.
		left, right := expr, ""
		var on [][]string
		if j := joinedOn.FindStringSubmatchIndex(expr); j != nil {
			left, right = expr[:j[0]], expr[j[1]:]
			for _, l := range strings.Split(expr[j[2]:j[3]], ",") {
				on = append(on, []string{"", strings.TrimSpace(l)})
			}
		}
		check := func(m string, used [][]string) {
			labels, ok := served[m]
			if !ok {
				t.Errorf("alert %s uses %s, which dr-syncer does not serve", r["alert"], m)
				return
			}
			for _, u := range used {
				if !slices.Contains(labels, u[1]) {
					t.Errorf("alert %s uses label %q, which %s does not have (it has %v)", r["alert"], u[1], m, labels)
				}
			}
		}
		for _, m := range ownMetric.FindAllString(left, -1) {
			check(m, used)
		}
		for _, m := range ownMetric.FindAllString(right, -1) {
			check(m, on)
		}
	}
}
