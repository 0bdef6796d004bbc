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
