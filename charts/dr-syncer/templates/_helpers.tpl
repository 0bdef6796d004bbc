{{/* Common labels. */}}
{{- define "dr-syncer.labels" -}}
app.kubernetes.io/name: dr-syncer
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end }}

{{/* Selector labels. */}}
{{- define "dr-syncer.selectorLabels" -}}
app.kubernetes.io/name: dr-syncer
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* cert-manager injects the CA of the serving certificate into the webhook configurations. */}}
{{- define "dr-syncer.caAnnotation" -}}
{{- if eq .Values.certificates.mode "cert-manager" }}
cert-manager.io/inject-ca-from: {{ .Release.Namespace }}/dr-syncer-serving
{{- end }}
{{- end }}

{{- define "dr-syncer.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{/* GOMEMLIMIT: goMemLimitPercent of the memory limit (Mi or Gi), so the Go runtime collects
before the kernel kills; empty without a limit. */}}
{{- define "dr-syncer.goMemLimit" -}}
{{- $mem := toString (dig "limits" "memory" "" .Values.resources) -}}
{{- $mib := 0 -}}
{{- if hasSuffix "Gi" $mem -}}
{{- $mib = mul (atoi (trimSuffix "Gi" $mem)) 1024 -}}
{{- else if hasSuffix "Mi" $mem -}}
{{- $mib = atoi (trimSuffix "Mi" $mem) -}}
{{- end -}}
{{- if and (gt (int $mib) 0) (gt (int .Values.goMemLimitPercent) 0) -}}
{{ div (mul $mib .Values.goMemLimitPercent) 100 }}MiB
{{- end -}}
{{- end }}
