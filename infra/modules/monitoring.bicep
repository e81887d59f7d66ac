// Log Analytics and Application Insights (local auth off: the identity publishes telemetry), and an alert
// on the sweep's failure reports (one IngestionFailed log line per failure).
param workspaceName string
param insightsName string
param location string
param tags object
param alertEmail string

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
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

output insightsName string = insights.name
