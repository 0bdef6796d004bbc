package main

import (
	"context"
	"fmt"
	"slices"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drsyncer/dr-syncer/test/harness"
)

// uncoveredWrites measures what dr-syncer costs writes in a namespace no replication covers: the
// resource labeler's namespaceSelector keeps the API server from calling it there at all. Nine
// pairs of rounds create the same ConfigMaps with dr-syncer's MutatingWebhookConfigurations
// registered and with them deleted (which order goes first alternates), and the figure is the
// median rate installed over the median rate not: one round of 2,000 creates varies by a third on
// this machine, a median of nine much less.
func (b *bench) uncoveredWrites(ctx context.Context) error {
	const pairs, n, writers = 9, 2000, 16
	if err := b.namespace(ctx, b.env.SourceClient, "uncovered", nil, nil); err != nil {
		return err
	}
	var list admissionv1.MutatingWebhookConfigurationList
	if err := b.env.SourceClient.List(ctx, &list); err != nil {
		return err
	}
	src, err := writerClient(b.env.SourceConfig)
	if err != nil {
		return err
	}
	round := 0
	rate := func(installed bool) (float64, error) {
		if err := b.setMutatingWebhooks(ctx, list.Items, installed); err != nil {
			return 0, err
		}
		round++
		objs := objects("uncovered", n, 0)
		for _, o := range objs {
			o.SetName(fmt.Sprintf("r%02d-%s", round, o.GetName()))
		}
		start := time.Now()
		if err := create(ctx, src, objs, writers); err != nil {
			return 0, err
		}
		return float64(n) / time.Since(start).Seconds(), nil
	}
	// What the API server itself says it sent to the resource labeler: none of these writes.
	labelerCalls := func() (float64, error) {
		return harness.ServerMetric(ctx, b.env.SourceConfig, "apiserver_admission_webhook_admission_duration_seconds_count", `name="label-resource.drsyncer.io"`)
	}
	calls0, err := labelerCalls()
	if err != nil {
		return err
	}
	var with, without []float64
	for i := range pairs {
		order := []bool{true, false}
		if i%2 == 1 {
			order = []bool{false, true}
		}
		for _, installed := range order {
			r, err := rate(installed)
			if err != nil {
				return err
			}
			if installed {
				with = append(with, r)
			} else {
				without = append(without, r)
			}
		}
	}
	if err := b.setMutatingWebhooks(ctx, list.Items, true); err != nil {
		return err
	}
	calls1, err := labelerCalls()
	if err != nil {
		return err
	}
	b.rep.add(figure{Name: "labeler calls for 18,000 uncovered writes", Value: calls1 - calls0, Unit: "calls", Target: "0", Met: atMost(calls1-calls0, 0),
		Note: "the source apiserver's apiserver_admission_webhook_admission_duration_seconds_count"})
	ratio := median(with) / median(without)
	b.rep.add(figure{Name: "uncovered namespace writes: installed / not", Value: ratio, Unit: "ratio", Target: ">= 0.98", Met: atLeast(ratio, 0.98),
		Note: fmt.Sprintf("medians of 9 rounds of 2,000 creates: %.0f / %.0f obj/s", median(with), median(without))})
	return nil
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

// setMutatingWebhooks registers dr-syncer's mutating webhook configurations again, or deletes
// them, and gives the API server a moment to load the change (it watches them).
func (b *bench) setMutatingWebhooks(ctx context.Context, configs []admissionv1.MutatingWebhookConfiguration, installed bool) error {
	for i := range configs {
		c := configs[i].DeepCopy()
		var err error
		if installed {
			c.ResourceVersion, c.UID, c.ManagedFields = "", "", nil
			err = client.IgnoreAlreadyExists(b.env.SourceClient.Create(ctx, c))
		} else {
			err = client.IgnoreNotFound(b.env.SourceClient.Delete(ctx, c))
		}
		if err != nil {
			return err
		}
	}
	time.Sleep(time.Second)
	return nil
}
