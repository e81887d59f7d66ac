// Log Analytics and Application Insights (local auth off: the identity publishes telemetry), the ingestion
// workbook, and alerts: on the failure reports (one log line per failure), on stuck sources, on a growing
// landing poison queue, and on the oldest open source past a limit (the app's kif.* metrics).
param workspaceName string
param insightsName string
param location string
param tags object
param alertEmail string
@description('Alert when the oldest open source (accepted, not yet final) is older than this, in minutes.')
param oldestOpenAlertMinutes int = 60

resource workspace 'Microsoft.OperationalInsights/workspaces@2025-02-01' = {
  name: workspaceName
  location: location
  tags: tags
  properties: {
    sku: { name: 'PerGB2018' }
    retentionInDays: 30
  }
}

resource insights 'Microsoft.Insights/components@2020-02-02' = {
  name: insightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    DisableLocalAuth: true
  }
}

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = if (!empty(alertEmail)) {
  name: 'ag-ingestion-failures'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'ingestfail'
    enabled: true
    emailReceivers: [{ name: 'owner', emailAddress: alertEmail, useCommonAlertSchema: true }]
  }
}

resource failureAlert 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: 'alert-ingestion-failed'
  location: location
  tags: tags
  properties: {
    displayName: 'Ingestion failures reported by the sweep'
    description: 'The app reported a failure: IngestionFailed, IngestionStuck or IngestionAbandoned (the sweep) or LandingRejected (a landing blob that cannot be ingested), one log line per report.'
    severity: 2
    enabled: true
    scopes: [insights.id]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT5M'
    criteria: {
      allOf: [
        {
          query: 'traces | where message has_any (\'"event":"IngestionFailed"\', \'"event":"IngestionStuck"\', \'"event":"IngestionAbandoned"\', \'"event":"LandingRejected"\')'
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: { numberOfEvaluationPeriods: 1, minFailingPeriodsToAlert: 1 }
        }
      ]
    }
    actions: { actionGroups: empty(alertEmail) ? [] : [actionGroup.id] }
  }
}

// The app's metrics (shared/app/telemetry/sourceTelemetry.ts, METRIC) as Application Insights keeps them.
var metricAlerts = [
  {
    name: 'alert-sources-stuck'
    displayName: 'Sources stuck pending'
    description: 'The sweep found sources still pending past the stale limit (metric kif.sources.stuck).'
    severity: 2
    window: 'PT5M'
    query: 'customMetrics | where name == \'kif.sources.stuck\' | summarize stuck = sum(valueSum) | where stuck > 0'
  }
  {
    name: 'alert-poison-growing'
    displayName: 'Landing poison queue growing'
    description: 'More landing events in the poison queue than 15 minutes before (metric kif.poison.messages): events the landing trigger gave up on.'
    severity: 2
    window: 'PT30M'
    query: 'customMetrics | where timestamp > ago(30m) and name == \'kif.poison.messages\' | summarize recent = maxif(valueMax, timestamp > ago(15m)), before = maxif(valueMax, timestamp <= ago(15m)) | where recent > 0 and recent > coalesce(before, 0.0)'
  }
  {
    name: 'alert-oldest-open-source'
    displayName: 'Oldest open source past the limit'
    description: 'A source accepted ${oldestOpenAlertMinutes} minutes ago or more has no final status yet (metric kif.sources.oldest_open_age).'
    severity: 3
    window: 'PT15M'
    query: 'customMetrics | where name == \'kif.sources.oldest_open_age\' | summarize oldest = max(valueMax) | where oldest > ${oldestOpenAlertMinutes * 60}'
  }
]

resource metricAlert 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = [
  for a in metricAlerts: {
    name: a.name
    location: location
    tags: tags
    properties: {
      displayName: a.displayName
      description: a.description
      severity: a.severity
      enabled: true
      scopes: [insights.id]
      evaluationFrequency: 'PT5M'
      windowSize: a.window
      criteria: {
        allOf: [
          {
            query: a.query
            timeAggregation: 'Count'
            operator: 'GreaterThan'
            threshold: 0
            failingPeriods: { numberOfEvaluationPeriods: 1, minFailingPeriodsToAlert: 1 }
          }
        ]
      }
      actions: { actionGroups: empty(alertEmail) ? [] : [actionGroup.id] }
    }
  }
]

resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  name: guid(resourceGroup().id, insightsName, 'kusto-ingestion-workbook')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: 'Kusto ingestion'
    category: 'workbook'
    sourceId: insights.id
    serializedData: loadTextContent('workbook.json')
  }
}

output insightsName string = insights.name
