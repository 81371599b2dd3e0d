{{/* Name prefix of every object: the release name, plus "-kcfs" unless the release is already called kcfs. */}}
{{- define "kcfs.fullname" -}}
{{- if contains "kcfs" .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-kcfs" .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* The CSI driver name: fixed, the plugin reports it in GetPluginInfo. */}}
{{- define "kcfs.driverName" -}}csi.kcfs.dev{{- end -}}

{{/* Labels on every object. */}}
{{- define "kcfs.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/part-of: kcfs
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Labels naming one component, added to kcfs.labels on its objects (argument: dict "ctx" . "component" "operator"|"node"). */}}
{{- define "kcfs.componentLabels" -}}
app.kubernetes.io/name: kcfs
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Selector labels of one component (argument: dict "ctx" . "component" "operator"|"node"). */}}
{{- define "kcfs.selectorLabels" -}}
app.kubernetes.io/name: kcfs
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "kcfs.operator.name" -}}{{ include "kcfs.fullname" . }}-operator{{- end -}}
{{- define "kcfs.node.name" -}}{{ include "kcfs.fullname" . }}-node{{- end -}}

{{/* image reference (argument: the image values, and the root context for the default tag) */}}
{{- define "kcfs.image" -}}
{{- $tag := .image.tag | default .ctx.Chart.AppVersion -}}
{{- printf "%s:%s" .image.repository $tag -}}
{{- end -}}

{{/* JAVA_TOOL_OPTIONS of a component: the log level and the extra JVM options. */}}
{{- define "kcfs.javaToolOptions" -}}
{{- $level := .ctx.Values.logLevel | upper -}}
{{- if not (has $level (list "TRACE" "DEBUG" "INFO" "WARN" "ERROR")) -}}
{{- fail (printf "logLevel %q is not one of TRACE, DEBUG, INFO, WARN, ERROR" .ctx.Values.logLevel) -}}
{{- end -}}
{{- trim (printf "-Dkcfs.log.level=%s %s" $level .extra) -}}
{{- end -}}

{{/* Namespaces whose Secrets the kcfs service accounts may get (when pullSecrets.clusterWide is false). */}}
{{- define "kcfs.secretNamespaces" -}}
{{- $all := list .Release.Namespace -}}
{{- range .Values.pullSecrets.namespaces -}}
{{- $all = append $all . -}}
{{- end -}}
{{- $all | uniq | toJson -}}
{{- end -}}
