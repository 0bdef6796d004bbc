package main

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// uncoveredWrites measures what dr-syncer costs writes in a namespace no replication covers: the
// resource labeler's namespaceSelector keeps the API server from calling it there at all. Five
// pairs of rounds create the same ConfigMaps with dr-syncer's MutatingWebhookConfigurations
// registered and with them deleted (which order goes first alternates), and the figure is the
// median of the pairs' ratios: machine noise moves both halves of a pair alike.
func (b *bench) uncoveredWrites(ctx context.Context) error {
	const pairs, n, writers = 5, 1000, 16
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
	var ratios []float64
	var all []string
	for i := range pairs {
		var with, without float64
		if i%2 == 0 {
			with, err = rate(true)
			if err == nil {
				without, err = rate(false)
			}
		} else {
			without, err = rate(false)
			if err == nil {
				with, err = rate(true)
			}
		}
		if err != nil {
			return err
		}
		ratios = append(ratios, with/without)
		all = append(all, strconv.FormatFloat(with/without, 'f', 2, 64))
	}
	if err := b.setMutatingWebhooks(ctx, list.Items, true); err != nil {
		return err
	}
	slices.Sort(ratios)
	ratio := ratios[len(ratios)/2]
	b.rep.add(figure{Name: "uncovered namespace writes: installed / not", Value: ratio, Unit: "ratio", Target: ">= 0.98", Met: atLeast(ratio, 0.98),
		Note: "median of 5 pairs of 1,000 creates; pairs: " + strings.Join(all, ", ")})
	return nil
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
