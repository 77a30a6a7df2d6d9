{{/* Chart name, overridable. */}}
{{- define "loom.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Release-scoped name; component names are suffixed to it and must stay under 63 characters. */}}
{{- define "loom.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" -}}
{{- else if contains (include "loom.name" .) .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "loom.name" .) | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "loom.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "loom.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: loom
{{- end -}}

{{/* Selector labels of one component: call with (dict "ctx" $ "component" "silo"). */}}
{{- define "loom.selectorLabels" -}}
app.kubernetes.io/name: {{ include "loom.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "loom.image" -}}
{{- printf "%s:%s" .image.repository (default .ctx.Chart.AppVersion .image.tag) -}}
{{- end -}}

{{/* Orleans cluster settings shared by silos and gateways (membership in Redis, never the Kubernetes API). */}}
{{- define "loom.clusterEnv" -}}
- name: Loom__Cluster__Mode
  value: redis
- name: Loom__Cluster__ClusterId
  value: {{ .Values.cluster.clusterId | quote }}
- name: Loom__Cluster__ServiceId
  value: {{ .Values.cluster.serviceId | quote }}
- name: Loom__Cluster__RedisConnectionString
{{- if .Values.devRedis.enabled }}
  value: {{ printf "%s-redis:6379" (include "loom.fullname" .) | quote }}
{{- else }}
  valueFrom:
    secretKeyRef:
      name: {{ required "redis.existingSecret is required (or enable devRedis)" .Values.redis.existingSecret }}
      key: {{ .Values.redis.existingSecretKey }}
{{- end }}
{{- end -}}

{{/* The cache tiers; after loom.clusterEnv, whose Redis variable the default value expands. */}}
{{- define "loom.cacheEnv" -}}
- name: Loom__Cache__LocalMegabytes
  value: {{ .Values.cache.localMegabytes | quote }}
{{- if .Values.cache.redis.enabled }}
- name: Loom__Cache__Redis
{{- if .Values.cache.redis.existingSecret }}
  valueFrom:
    secretKeyRef:
      name: {{ .Values.cache.redis.existingSecret }}
      key: {{ .Values.cache.redis.existingSecretKey }}
{{- else }}
  value: {{ printf "$(Loom__Cluster__RedisConnectionString),defaultDatabase=%v" .Values.cache.redis.database | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{/*
A fingerprint of devPostgres.password for pod annotations, so the pods that read it roll when it changes. Sprig's
derivePassword (scrypt, salted with the user and release) rather than sha256sum: annotations are readable by more
people than the Secret, and a short dev password falls to a dictionary against its plain hash at once.
*/}}
{{- define "loom.devPostgresPasswordChecksum" -}}
{{- derivePassword 1 "long" .Values.devPostgres.password .Values.devPostgres.username (include "loom.fullname" .) -}}
{{- end -}}

{{- define "loom.storageEnv" -}}
- name: Loom__Storage__Provider
  value: {{ .Values.storage.provider | quote }}
- name: Loom__Storage__MaxPoolSize
  value: {{ .Values.storage.maxPoolSize | quote }}
- name: Loom__Storage__ConnectionString
  valueFrom:
    secretKeyRef:
{{- if .Values.devPostgres.enabled }}
      name: {{ printf "%s-postgres" (include "loom.fullname" .) }}
      key: connectionString
{{- else }}
      name: {{ required "storage.existingSecret is required (or enable devPostgres)" .Values.storage.existingSecret }}
      key: {{ .Values.storage.existingSecretKey }}
{{- end }}
{{- with .Values.storage.readReplica }}
{{- if .existingSecret }}
- name: Loom__Storage__ReadConnectionString
  valueFrom:
    secretKeyRef:
      name: {{ .existingSecret }}
      key: {{ .existingSecretKey }}
{{- end }}
{{- end }}
{{- end -}}

{{- define "loom.llmEnv" -}}
- name: Loom__Llm__Provider
  value: {{ .Values.llm.provider | quote }}
{{- with .Values.llm.endpoint }}
- name: Loom__Llm__Endpoint
  value: {{ . | quote }}
{{- end }}
{{- with .Values.llm.model }}
- name: Loom__Llm__Model
  value: {{ . | quote }}
{{- end }}
{{- if .Values.llm.apiKeySecret }}
- name: Loom__Llm__ApiKey
  valueFrom:
    secretKeyRef:
      name: {{ .Values.llm.apiKeySecret }}
      key: {{ .Values.llm.apiKeySecretKey }}
{{- end }}
{{- end -}}

{{- define "loom.turnsEnv" -}}
- name: Loom__Turns__MaxInputChars
  value: {{ .Values.turns.maxInputChars | quote }}
- name: Loom__Turns__MaxPending
  value: {{ .Values.turns.maxPending | quote }}
{{- end -}}

{{- define "loom.telemetryEnv" -}}
{{- with .Values.monitoring.otlpEndpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ . | quote }}
{{- end }}
{{- end -}}

{{/* Pod name and IP from the downward API: each silo advertises its own pod IP, never a Service address. */}}
{{- define "loom.podIdentityEnv" -}}
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: POD_IP
  valueFrom:
    fieldRef:
      fieldPath: status.podIP
- name: POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
{{- end -}}
