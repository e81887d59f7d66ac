// Every role assignment of the deployment, kept as data: who gets which role where, and why. One loop per
// kind of scope (Bicep needs a typed scope); names are deterministic, so a redeployment changes nothing.
param appStorageName string
param landingStorageName string
param insightsName string
param appPrincipalId string
param eventGridPrincipalId string
param userPrincipalId string

// Built-in role definition ids.
var roles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  storageBlobDelegator: 'db58b8e5-c6ad-4a2a-8342-4190687cbf4a'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  storageQueueDataMessageSender: 'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}

var app = { principalId: appPrincipalId, principalType: 'ServicePrincipal' }
var eventGrid = { principalId: eventGridPrincipalId, principalType: 'ServicePrincipal' }

var accountAssignments = concat(
  [
    // The Functions host and the deployment package; the tracking tables.
    union(app, { account: appStorageName, role: roles.storageBlobDataOwner })
    union(app, { account: appStorageName, role: roles.storageQueueDataContributor })
    union(app, { account: appStorageName, role: roles.storageTableDataContributor })
    // Landing blobs: read, quarantine (copy, delete); the landing-events queue and its poison queue.
    union(app, { account: landingStorageName, role: roles.storageBlobDataOwner })
    union(app, { account: landingStorageName, role: roles.storageQueueDataContributor })
    // User-delegation keys, to sign the read SAS that lets Kusto fetch a landing blob.
    union(app, { account: landingStorageName, role: roles.storageBlobDelegator })
  ],
  empty(userPrincipalId)
    ? []
    : [
        { account: landingStorageName, role: roles.storageBlobDataContributor, principalId: userPrincipalId, principalType: 'User' }
        { account: appStorageName, role: roles.storageTableDataContributor, principalId: userPrincipalId, principalType: 'User' }
      ]
)

var queueAssignments = [
  // Event Grid writes BlobCreated events into landing-events with its own identity.
  union(eventGrid, { account: landingStorageName, queue: 'landing-events', role: roles.storageQueueDataMessageSender })
]

var containerAssignments = [
  // ...and dead-letters what it cannot deliver into landing-deadletter.
  union(eventGrid, { account: landingStorageName, container: 'landing-deadletter', role: roles.storageBlobDataContributor })
]

var insightsAssignments = [
  // Telemetry with Entra ID auth (local auth is off on Application Insights).
  union(app, { role: roles.monitoringMetricsPublisher })
]

resource accounts 'Microsoft.Storage/storageAccounts@2023-05-01' existing = [
  for a in accountAssignments: { name: a.account }
]

resource accountRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (a, i) in accountAssignments: {
    name: guid(accounts[i].id, a.principalId, a.role)
    scope: accounts[i]
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', a.role)
      principalId: a.principalId
      principalType: a.principalType
    }
  }
]

resource queues 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' existing = [
  for a in queueAssignments: { name: '${a.account}/default/${a.queue}' }
]

resource queueRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (a, i) in queueAssignments: {
    name: guid(queues[i].id, a.principalId, a.role)
    scope: queues[i]
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', a.role)
      principalId: a.principalId
      principalType: a.principalType
    }
  }
]

resource containers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = [
  for a in containerAssignments: { name: '${a.account}/default/${a.container}' }
]

resource containerRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (a, i) in containerAssignments: {
    name: guid(containers[i].id, a.principalId, a.role)
    scope: containers[i]
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', a.role)
      principalId: a.principalId
      principalType: a.principalType
    }
  }
]

resource insights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: insightsName
}

resource insightsRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for a in insightsAssignments: {
    name: guid(insights.id, a.principalId, a.role)
    scope: insights
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', a.role)
      principalId: a.principalId
      principalType: a.principalType
    }
  }
]

output assignmentCount int = length(accountAssignments) + length(queueAssignments) + length(containerAssignments) + length(insightsAssignments)
