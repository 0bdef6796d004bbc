package certs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// defaultControllerNamespace is the namespace the generated manifests name; Registration
// replaces it with the real one.
const defaultControllerNamespace = "dr-syncer-system"

// Registration says how the webhook configurations reach the webhook server.
type Registration struct {
	// Manifests is the generated config/webhook/manifests.yaml.
	Manifests []byte
	// URLBase, when set (e.g. "https://127.0.0.1:9443"), makes Apply create or update the
	// configurations with URL client configs, for a manager running outside the cluster.
	// When empty, Apply only patches the caBundle of the configurations already installed (Helm).
	URLBase string
	// ControllerNamespace replaces the default namespace in service references and namespaceSelectors.
	ControllerNamespace string
}

// Configurations returns the webhook configurations of the manifests, adapted to r.
func (r Registration) Configurations(caBundle []byte) ([]*admissionv1.MutatingWebhookConfiguration, []*admissionv1.ValidatingWebhookConfiguration, error) {
	var muts []*admissionv1.MutatingWebhookConfiguration
	var vals []*admissionv1.ValidatingWebhookConfiguration
	dec := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(r.Manifests), 4096)
	for {
		var raw map[string]any
		if err := dec.Decode(&raw); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, nil, fmt.Errorf("failed to read the webhook manifests: %w", err)
		}
		doc, err := json.Marshal(raw)
		if err != nil {
			return nil, nil, err
		}
		switch raw["kind"] {
		case "MutatingWebhookConfiguration":
			m := &admissionv1.MutatingWebhookConfiguration{}
			if err := yaml.Unmarshal(doc, m); err != nil {
				return nil, nil, err
			}
			for i := range m.Webhooks {
				r.adapt(&m.Webhooks[i].ClientConfig, m.Webhooks[i].NamespaceSelector, caBundle)
			}
			muts = append(muts, m)
		case "ValidatingWebhookConfiguration":
			v := &admissionv1.ValidatingWebhookConfiguration{}
			if err := yaml.Unmarshal(doc, v); err != nil {
				return nil, nil, err
			}
			for i := range v.Webhooks {
				r.adapt(&v.Webhooks[i].ClientConfig, v.Webhooks[i].NamespaceSelector, caBundle)
			}
			vals = append(vals, v)
		}
	}
	return muts, vals, nil
}

func (r Registration) adapt(cc *admissionv1.WebhookClientConfig, sel *metav1.LabelSelector, caBundle []byte) {
	cc.CABundle = caBundle
	if r.ControllerNamespace != "" && sel != nil {
		for i := range sel.MatchExpressions {
			for j, v := range sel.MatchExpressions[i].Values {
				if v == defaultControllerNamespace {
					sel.MatchExpressions[i].Values[j] = r.ControllerNamespace
				}
			}
		}
	}
	if cc.Service != nil {
		if r.URLBase != "" {
			url := strings.TrimSuffix(r.URLBase, "/") + *cc.Service.Path
			cc.URL, cc.Service = &url, nil
		} else if r.ControllerNamespace != "" {
			cc.Service.Namespace = r.ControllerNamespace
		}
	}
}

// Apply registers the webhooks with caBundle: in URL mode it creates or replaces the
// configurations; otherwise it patches the caBundle of each webhook of the installed ones.
func (r Registration) Apply(ctx context.Context, c client.Client, caBundle []byte) error {
	muts, vals, err := r.Configurations(caBundle)
	if err != nil {
		return err
	}
	for _, m := range muts {
		if err := r.apply(ctx, c, m, func(live client.Object) {
			l := live.(*admissionv1.MutatingWebhookConfiguration)
			if r.URLBase != "" {
				l.Webhooks = m.Webhooks
				return
			}
			for i := range l.Webhooks {
				l.Webhooks[i].ClientConfig.CABundle = caBundle
			}
		}, &admissionv1.MutatingWebhookConfiguration{}); err != nil {
			return err
		}
	}
	for _, v := range vals {
		if err := r.apply(ctx, c, v, func(live client.Object) {
			l := live.(*admissionv1.ValidatingWebhookConfiguration)
			if r.URLBase != "" {
				l.Webhooks = v.Webhooks
				return
			}
			for i := range l.Webhooks {
				l.Webhooks[i].ClientConfig.CABundle = caBundle
			}
		}, &admissionv1.ValidatingWebhookConfiguration{}); err != nil {
			return err
		}
	}
	return nil
}

func (r Registration) apply(ctx context.Context, c client.Client, desired client.Object, mutate func(client.Object), live client.Object) error {
	err := c.Get(ctx, client.ObjectKeyFromObject(desired), live)
	switch {
	case apierrors.IsNotFound(err) && r.URLBase != "":
		if err := c.Create(ctx, desired); err != nil {
			return fmt.Errorf("failed to create webhook configuration %s: %w", desired.GetName(), err)
		}
		return nil
	case apierrors.IsNotFound(err):
		return fmt.Errorf("webhook configuration %s is not installed; install the chart or run with a webhook URL", desired.GetName())
	case err != nil:
		return fmt.Errorf("failed to read webhook configuration %s: %w", desired.GetName(), err)
	}
	mutate(live)
	if err := c.Update(ctx, live); err != nil {
		return fmt.Errorf("failed to update webhook configuration %s: %w", desired.GetName(), err)
	}
	return nil
}

// Names returns the names of the webhook configurations, for tests and RBAC.
func (r Registration) Names() ([]string, error) {
	muts, vals, err := r.Configurations(nil)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, m := range muts {
		names = append(names, m.Name)
	}
	for _, v := range vals {
		names = append(names, v.Name)
	}
	slices.Sort(names)
	return names, nil
}
