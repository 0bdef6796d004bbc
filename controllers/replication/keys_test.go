package replication

import (
	"testing"

	"github.com/drsyncer/dr-syncer/api/v1alpha1"
	"github.com/drsyncer/dr-syncer/pkg/transform"
)

// pkg/transform may not import the API (DESIGN §6), so it repeats the well-known keys it writes.
// This keeps both in step.
func TestWellKnownKeysAgree(t *testing.T) {
	pairs := map[string][2]string{
		"managed-by label":   {transform.LabelManagedBy, v1alpha1.LabelManagedBy},
		"managed-by value":   {transform.ManagedByValue, v1alpha1.ManagedByValue},
		"replication label":  {transform.LabelReplication, v1alpha1.LabelReplication},
		"source":             {transform.AnnotationSource, v1alpha1.AnnotationSource},
		"source uid":         {transform.AnnotationSourceUID, v1alpha1.AnnotationSourceUID},
		"spec hash":          {transform.AnnotationSpecHash, v1alpha1.AnnotationSpecHash},
		"source replicas":    {transform.AnnotationSourceReplicas, v1alpha1.AnnotationSourceReplicas},
		"ownership":          {transform.AnnotationOwnership, v1alpha1.AnnotationOwnership},
		"source suspend":     {transform.AnnotationSourceSuspend, v1alpha1.AnnotationSourceSuspend},
		"promoted":           {transform.AnnotationPromoted, v1alpha1.AnnotationPromoted},
		"owner":              {transform.AnnotationOwner, v1alpha1.AnnotationOwner},
		"replicas mode zero": {string(transform.ReplicasZero), v1alpha1.ReplicasZero},
		"replicas preserve":  {string(transform.ReplicasPreserve), v1alpha1.ReplicasPreserve},
	}
	for name, p := range pairs {
		if p[0] != p[1] {
			t.Errorf("%s: transform has %q, api has %q", name, p[0], p[1])
		}
	}
}
