package harness

import (
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// EveryDefaultKind returns one object of every kind mirrored by default, with the fields whose
// JSON and Go forms differ most: quantities, int-or-strings, binary data, nested maps and lists.
func EveryDefaultKind(ns string) []client.Object {
	labels := map[string]string{"app": "shop"}
	pod := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{Containers: []corev1.Container{{
		Name: "c", Image: "registry.example.com/shop:1.2", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
		Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("0.5Gi")},
			Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1.5")}},
		Env: []corev1.EnvVar{{Name: "EMPTY"}, {Name: "NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}}},
	}}}}
	surge, unavailable := intstr.FromString("25%"), intstr.FromInt32(0)
	two, pct := intstr.FromInt32(2), intstr.FromString("50%")
	om := func(name string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels, Annotations: map[string]string{"note": "ünïcode ✓", "empty": ""}}
	}
	return []client.Object{
		&corev1.ConfigMap{ObjectMeta: om("cm"), Data: map[string]string{"a": "1", "json": `{"x":[1,2.5,"3"]}`}, BinaryData: map[string][]byte{"bin": {0, 0xff, 0x80}}},
		&corev1.Secret{ObjectMeta: om("secret"), Type: corev1.SecretTypeOpaque, Data: map[string][]byte{"key": {0xde, 0xad, 0xbe, 0xef}}},
		&corev1.ServiceAccount{ObjectMeta: om("sa"), AutomountServiceAccountToken: new(bool)},
		&corev1.Service{ObjectMeta: om("svc"), Spec: corev1.ServiceSpec{Selector: labels, Ports: []corev1.ServicePort{
			{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}, {Name: "admin", Port: 9000, TargetPort: intstr.FromInt32(9001)}}}},
		&corev1.PersistentVolumeClaim{ObjectMeta: om("pvc"), Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1536Mi")}}}},
		&appsv1.Deployment{ObjectMeta: om("deploy"), Spec: appsv1.DeploymentSpec{Replicas: ptrTo[int32](3), Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: pod,
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType, RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: &surge, MaxUnavailable: &unavailable}}}},
		&appsv1.StatefulSet{ObjectMeta: om("sts"), Spec: appsv1.StatefulSetSpec{Replicas: ptrTo[int32](2), ServiceName: "svc", Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: pod,
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{ObjectMeta: metav1.ObjectMeta{Name: "data"}, Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("10Gi")}}}}}}},
		&appsv1.DaemonSet{ObjectMeta: om("ds"), Spec: appsv1.DaemonSetSpec{Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: pod}},
		&batchv1.CronJob{ObjectMeta: om("cron"), Spec: batchv1.CronJobSpec{Schedule: "*/5 * * * *", Suspend: new(bool), JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: pod.Spec.Containers}}}}}},
		&networkingv1.Ingress{ObjectMeta: om("ing"), Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{Host: "shop.example.com", IngressRuleValue: networkingv1.IngressRuleValue{
			HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{Path: "/", PathType: ptrTo(networkingv1.PathTypePrefix),
				Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "svc", Port: networkingv1.ServiceBackendPort{Name: "http"}}}}}}}}}}},
		&networkingv1.NetworkPolicy{ObjectMeta: om("np"), Spec: networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{MatchLabels: labels},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{Ports: []networkingv1.NetworkPolicyPort{{Port: &two}}}}}},
		&autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: om("hpa"), Spec: autoscalingv2.HorizontalPodAutoscalerSpec{MaxReplicas: 5,
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "deploy"},
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceMemory,
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: ptrTo(resource.MustParse("300Mi"))}}}}}},
		&policyv1.PodDisruptionBudget{ObjectMeta: om("pdb"), Spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: &pct, Selector: &metav1.LabelSelector{MatchLabels: labels}}},
		&rbacv1.Role{ObjectMeta: om("role"), Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "list"}}}},
		&rbacv1.RoleBinding{ObjectMeta: om("rb"), RoleRef: rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "role"},
			Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: "sa", Namespace: ns}}},
	}
}

func ptrTo[T any](v T) *T { return &v }

// ExampleCRD is a namespaced kind of group example.com, version v1, that keeps any field.
func ExampleCRD(singular, kind string) *apiextensionsv1.CustomResourceDefinition {
	return CRD("example.com", singular, kind)
}

// CRD is a namespaced CRD of group that keeps whatever its objects hold, served at v1 (any
// operator's kind, for the tests).
func CRD(group, singular, kind string) *apiextensionsv1.CustomResourceDefinition {
	preserve := true
	return &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: singular + "s." + group},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: group, Scope: apiextensionsv1.NamespaceScoped,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: singular + "s", Singular: singular, Kind: kind, ListKind: kind + "List"},
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{Name: "v1", Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
					Type: "object", XPreserveUnknownFields: &preserve}}}},
		},
	}
}
