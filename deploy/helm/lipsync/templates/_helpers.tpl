{{- define "lipsync.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "lipsync.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "lipsync.selectorLabels" -}}
app.kubernetes.io/name: {{ include "lipsync.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "lipsync.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{ include "lipsync.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "lipsync.image" -}}
{{- $tag := .Values.image.tag | default (printf "%s%s" .Chart.AppVersion (ternary "-cuda" "" .Values.gpu.enabled)) -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}

{{- define "lipsync.secretName" -}}
{{- .Values.auth.existingSecret | default (printf "%s-auth" (include "lipsync.fullname" .)) -}}
{{- end -}}

{{/* SIGKILL comes this long after deletion: the preStop pause, the drain, and time to close. */}}
{{- define "lipsync.terminationGrace" -}}
{{- $min := add .Values.preStopSleepSeconds .Values.server.drainSeconds 1 -}}
{{- if .Values.terminationGracePeriodSeconds -}}
{{- if le (int .Values.terminationGracePeriodSeconds) (int $min) -}}
{{- fail (printf "terminationGracePeriodSeconds (%v) must exceed preStopSleepSeconds + server.drainSeconds + 1 (%v): the pod would be killed mid-drain" .Values.terminationGracePeriodSeconds $min) -}}
{{- end -}}
{{- .Values.terminationGracePeriodSeconds -}}
{{- else -}}
{{- add .Values.preStopSleepSeconds .Values.server.drainSeconds 10 -}}
{{- end -}}
{{- end -}}

{{/* The `lipsync serve` command line. */}}
{{- define "lipsync.args" -}}
- serve
- --host
- 0.0.0.0
- --port
- {{ .Values.server.port | quote }}
- --drain-seconds
- {{ .Values.server.drainSeconds | quote }}
- --max-latency-ms
- {{ .Values.server.maxLatencyMs | quote }}
- --memory
- {{ .Values.server.memory }}
- --log-level
- {{ .Values.server.logLevel }}
{{- if .Values.avatars.includeDemo }}
- --avatars
- /app/models
{{- end }}
{{- if ne .Values.avatars.source "none" }}
- --avatars
- /avatars
{{- end }}
{{- with .Values.server.capacity }}
- --capacity
- {{ . | quote }}
{{- end }}
{{- if .Values.gpu.enabled }}
- --device
- cuda
- --max-batch
- {{ .Values.gpu.maxBatch | quote }}
{{- end }}
{{- if .Values.auth.enabled }}
- --auth-token-file
- /etc/lipsync/auth/{{ .Values.auth.secretKey }}
{{- if .Values.auth.adminTokenKey }}
- --admin-token
- $(LIPSYNC_ADMIN_TOKEN)
{{- end }}
{{- end }}
{{- range .Values.server.allowOrigins }}
- --allow-origin
- {{ . | quote }}
{{- end }}
{{- range .Values.server.extraArgs }}
- {{ . | quote }}
{{- end }}
{{- end -}}
