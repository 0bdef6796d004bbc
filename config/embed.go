// Package config embeds the generated manifests (CRDs and webhook configurations) so that the
// manager, the sandbox and the tests install exactly what `make manifests` generated.
package config

import "embed"

// CRDs holds config/crd/bases/*.yaml.
//
//go:embed crd/bases/*.yaml
var CRDs embed.FS

// WebhookManifests is config/webhook/manifests.yaml.
//
//go:embed webhook/manifests.yaml
var WebhookManifests []byte
