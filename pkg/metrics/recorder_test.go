package metrics

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// Every series a Recorder sets for a replication is deleted by its Forget calls.
func TestRecorderForgetsWhatItRecorded(t *testing.T) {
	var r Recorder
	series := func() int {
		n := 0
		for _, c := range All {
			n += testutil.CollectAndCount(c)
		}
		return n
	}
	before := series()
	for _, target := range []string{"dr", "dr2"} {
		r.Action("prod", target, "ConfigMap", "Create")
		r.DriftSeries("prod", target, "ConfigMap")
		r.Drift("prod", target, "ConfigMap", true)
		r.Lag("prod", target, time.Millisecond)
		r.Synced("prod", target)
		r.Objects("prod", target, map[string]int32{"synced": 3, "failed": 0})
		r.FailoverReady("prod", target, true, false)
	}
	r.Pass("prod", time.Second)
	r.ExpectedInterval("prod", time.Minute)
	r.ClusterUp("dr", true)
	if series() == before {
		t.Fatal("nothing recorded")
	}
	r.ForgetTarget("prod", "dr2")
	if got := testutil.CollectAndCount(Objects, "drsyncer_replication_objects"); got != 2 {
		t.Fatalf("%d object series after the target dr2 was forgotten, want dr's 2", got)
	}
	r.ForgetReplication("prod")
	r.ClusterGone("dr")
	if got := series(); got != before {
		t.Fatalf("%d series after forgetting, want %d", got, before)
	}
	r.FailoverReady("prod", "dr", true, true)
	r.FailoverReady("prod", "dr", false, false)
	if testutil.CollectAndCount(FailoverReady) != 0 {
		t.Fatal("a target that could not be checked keeps its readiness")
	}
	r.ExpectedInterval("manual", 0)
	if testutil.CollectAndCount(ExpectedInterval) != 0 {
		t.Fatal("a replication that never passes by itself has an expected interval")
	}
}
