{{/*
Named templates.  The chart's templates use a small subset of Helm's template language (field
paths, if/else/end, define/include, and the functions quote, default, toYaml, toPrettyJson,
toJson, indent, nindent, printf, trunc, trimSuffix, sha256sum): tests/integration/test_deploy.py
renders them with its own renderer when helm is not installed, and fails on anything else.
*/}}

{{- define "dynaseal.fullname" -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end }}

{{- define "dynaseal.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "dynaseal.labels" -}}
{{ include "dynaseal.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end }}

{{/*
The dynaseal container, used as a native sidecar (initContainers, restartPolicy Always) or as
a second container.  Probes on the admin port: /healthz for start-up and liveness, /readyz
(503 while DynamoDB cannot be reached) for readiness.
*/}}
{{- define "dynaseal.sidecar" -}}
- name: dynaseal
  image: {{ printf "%s:%s" .Values.dynaseal.image.repository (.Values.dynaseal.image.tag | default .Chart.AppVersion) | quote }}
  imagePullPolicy: {{ .Values.dynaseal.image.pullPolicy }}
  {{- if .Values.dynaseal.nativeSidecar }}
  restartPolicy: Always
  {{- end }}
  args: ["serve"]
  env:
    - name: DYNASEAL_CONFIG
      value: /etc/dynaseal/config.json
    - name: AWS_REGION
      value: {{ .Values.dynaseal.region | quote }}
    - name: AWS_STS_REGIONAL_ENDPOINTS
      value: regional
  {{- if .Values.dynaseal.credentialsSecret }}
  envFrom:
    - secretRef:
        name: {{ .Values.dynaseal.credentialsSecret }}
        optional: true
  {{- end }}
  ports:
    - name: admin
      containerPort: 9901
      protocol: TCP
  startupProbe:
    httpGet:
      path: /healthz
      port: admin
    periodSeconds: 1
    failureThreshold: 30
  livenessProbe:
    httpGet:
      path: /healthz
      port: admin
    periodSeconds: 10
    timeoutSeconds: 2
    failureThreshold: 3
  readinessProbe:
    httpGet:
      path: /readyz
      port: admin
    periodSeconds: 5
    timeoutSeconds: 2
    failureThreshold: 2
  resources:
    {{- toYaml .Values.dynaseal.resources | nindent 4 }}
  securityContext:
    runAsUser: 10001
    runAsGroup: 10001
    allowPrivilegeEscalation: false
    readOnlyRootFilesystem: true
    capabilities:
      drop: ["ALL"]
  volumeMounts:
    - name: dynaseal-config
      mountPath: /etc/dynaseal
      readOnly: true
    - name: dynaseal-run
      mountPath: /run/dynaseal
{{- end }}
