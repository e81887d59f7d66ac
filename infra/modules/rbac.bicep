// Every role assignment of the deployment, kept as data: who gets which role where, and why. Least privilege:
// each principal gets the narrowest built-in role, at the narrowest scope, that its work needs. Names are
// deterministic, so a redeployment changes nothing.
param appStorageName string
param landingStorageName string
param insightsName string
param appPrincipalId string
param eventGridPrincipalId string
@description('The principal running azd, given data access for trying the app; empty for none.')
param deployerPrincipalId string
@allowed(['User', 'ServicePrincipal', 'Group'])
param deployerPrincipalType string
@description('The Kusto cluster\'s identity, when it reads landing blobs itself (LANDING_BLOB_AUTH kusto-identity); empty for none.')
param kustoPrincipalId string = ''
@description('Whether the app tags ingested landing blobs (LANDING_ON_SUCCESS tag), which needs Blob Data Owner.')
param appTagsLandingBlobs bool = false

// Built-in role definition ids.
var roles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  storageBlobDataReader: '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1'
  storageBlobDelegator: 'db58b8e5-c6ad-4a2a-8342-4190687cbf4a'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  storageQueueDataMessageSender: 'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}

var principals = {
  app: { id: appPrincipalId, type: 'ServicePrincipal' }
  eventGrid: { id: eventGridPrincipalId, type: 'ServicePrincipal' }
  deployer: { id: deployerPrincipalId, type: deployerPrincipalType }
  appTags: { id: appPrincipalId, type: 'ServicePrincipal' }
  kusto: { id: kustoPrincipalId, type: 'ServicePrincipal' }
}

var all = [
  {
    principal: 'app'
    scope: 'account'
    account: appStorageName
    role: 'storageBlobDataOwner'
    reason: 'The Functions host keeps its state in AzureWebJobsStorage by identity (the host docs require Blob Data Owner there) and reads the deployment package.'
  }
  {
    principal: 'app'
    scope: 'account'
    account: appStorageName
    role: 'storageTableDataContributor'
    reason: 'The tracking tables: IngestionTracking, IngestionOpen, IngestionFailures and the listing index IngestionIndex, and the backfill jobs IngestionBackfill.'
  }
  // The backfill task queues and their poison queues (appStorage.bicep makes all four), one by one.
  {
    principal: 'app'
    scope: 'queue'
    account: appStorageName
    queue: 'backfill-pages'
    role: 'storageQueueDataContributor'
    reason: 'The backfill task queues: the app sends page and item tasks, and their queue triggers read, delete and poison them.'
  }
  {
    principal: 'app'
    scope: 'queue'
    account: appStorageName
    queue: 'backfill-pages-poison'
    role: 'storageQueueDataContributor'
    reason: 'The backfill task queues: the app sends page and item tasks, and their queue triggers read, delete and poison them.'
  }
  {
    principal: 'app'
    scope: 'queue'
    account: appStorageName
    queue: 'backfill-items'
    role: 'storageQueueDataContributor'
    reason: 'The backfill task queues: the app sends page and item tasks, and their queue triggers read, delete and poison them.'
  }
  {
    principal: 'app'
    scope: 'queue'
    account: appStorageName
    queue: 'backfill-items-poison'
    role: 'storageQueueDataContributor'
    reason: 'The backfill task queues: the app sends page and item tasks, and their queue triggers read, delete and poison them.'
  }
  // The three landing containers, one by one: a container of the landing account that is none of them (one
  // a backfill job lists, say) is read only once its owner gives the app a role on it (docs/deploy.md).
  {
    principal: 'app'
    scope: 'container'
    account: landingStorageName
    container: 'landing'
    role: 'storageBlobDataContributor'
    reason: 'Reads landing blobs, copies a failed one to landing-failed (an ingested one to landing-done) and deletes it from landing.'
  }
  {
    principal: 'app'
    scope: 'container'
    account: landingStorageName
    container: 'landing-failed'
    role: 'storageBlobDataContributor'
    reason: 'Reads landing blobs, copies a failed one to landing-failed (an ingested one to landing-done) and deletes it from landing.'
  }
  {
    principal: 'app'
    scope: 'container'
    account: landingStorageName
    container: 'landing-done'
    role: 'storageBlobDataContributor'
    reason: 'Reads landing blobs, copies a failed one to landing-failed (an ingested one to landing-done) and deletes it from landing.'
  }
  {
    principal: 'app'
    scope: 'account'
    account: landingStorageName
    role: 'storageBlobDelegator'
    reason: 'Gets the user-delegation key that signs the read SAS Kusto uses (an action of the account, no data access: what a SAS it signs may read is bounded by the container roles above).'
  }
  {
    principal: 'appTags'
    scope: 'container'
    account: landingStorageName
    container: 'landing'
    role: 'storageBlobDataOwner'
    reason: 'Writes blob index tags on ingested landing blobs (LANDING_ON_SUCCESS tag), which stay in landing: only Blob Data Owner may set tags.'
  }
  {
    principal: 'kusto'
    scope: 'container'
    account: landingStorageName
    container: 'landing'
    role: 'storageBlobDataReader'
    reason: 'The cluster reads landing blobs with its own identity (LANDING_BLOB_AUTH kusto-identity): the docs require Blob Data Reader (Owner or Contributor on the account is not enough).'
  }
  {
    principal: 'app'
    scope: 'queue'
    account: landingStorageName
    queue: 'landing-events'
    role: 'storageQueueDataContributor'
    reason: 'The queue trigger reads and deletes landing-events messages and moves failed ones to landing-events-poison; the sweep counts the poison queue.'
  }
  {
    principal: 'app'
    scope: 'queue'
    account: landingStorageName
    queue: 'landing-events-poison'
    role: 'storageQueueDataContributor'
    reason: 'The queue trigger reads and deletes landing-events messages and moves failed ones to landing-events-poison; the sweep counts the poison queue.'
  }
  {
    principal: 'app'
    scope: 'insights'
    role: 'monitoringMetricsPublisher'
    reason: 'Sends telemetry to Application Insights, whose local (key) authentication is off.'
  }
  {
    principal: 'eventGrid'
    scope: 'queue'
    account: landingStorageName
    queue: 'landing-events'
    role: 'storageQueueDataMessageSender'
    reason: 'Event Grid delivers BlobCreated events to the landing-events queue with its own identity.'
  }
  {
    principal: 'eventGrid'
    scope: 'container'
    account: landingStorageName
    container: 'landing-deadletter'
    role: 'storageBlobDataContributor'
    reason: 'Event Grid dead-letters the events it cannot deliver into landing-deadletter.'
  }
  {
    principal: 'deployer'
    scope: 'account'
    account: landingStorageName
    role: 'storageBlobDataContributor'
    reason: 'Whoever deployed can drop files into landing to try the app.'
  }
  {
    principal: 'deployer'
    scope: 'account'
    account: appStorageName
    role: 'storageTableDataContributor'
    reason: 'Whoever deployed can read the tracking and failure tables.'
  }
]

var wanted = {
  app: true
  eventGrid: true
  deployer: !empty(deployerPrincipalId)
  appTags: appTagsLandingBlobs
  kusto: !empty(kustoPrincipalId)
}
var assignments = filter(all, a => wanted[a.principal])
var accountAssignments = filter(assignments, a => a.scope == 'account')
var queueAssignments = filter(assignments, a => a.scope == 'queue')
var containerAssignments = filter(assignments, a => a.scope == 'container')
var insightsAssignments = filter(assignments, a => a.scope == 'insights')

resource accounts 'Microsoft.Storage/storageAccounts@2025-01-01' existing = [
  for a in accountAssignments: { name: a.account }
]

resource accountRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (a, i) in accountAssignments: {
    name: guid(accounts[i].id, principals[a.principal].id, roles[a.role])
    scope: accounts[i]
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles[a.role])
      principalId: principals[a.principal].id
      principalType: principals[a.principal].type
      description: a.reason
    }
  }
]

resource queues 'Microsoft.Storage/storageAccounts/queueServices/queues@2025-01-01' existing = [
  for a in queueAssignments: { name: '${a.account}/default/${a.queue}' }
]

resource queueRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (a, i) in queueAssignments: {
    name: guid(queues[i].id, principals[a.principal].id, roles[a.role])
    scope: queues[i]
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles[a.role])
      principalId: principals[a.principal].id
      principalType: principals[a.principal].type
      description: a.reason
    }
  }
]

resource containers 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-01-01' existing = [
  for a in containerAssignments: { name: '${a.account}/default/${a.container}' }
]

resource containerRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (a, i) in containerAssignments: {
    name: guid(containers[i].id, principals[a.principal].id, roles[a.role])
    scope: containers[i]
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles[a.role])
      principalId: principals[a.principal].id
      principalType: principals[a.principal].type
      description: a.reason
    }
  }
]

resource insights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: insightsName
}

resource insightsRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for a in insightsAssignments: {
    name: guid(insights.id, principals[a.principal].id, roles[a.role])
    scope: insights
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles[a.role])
      principalId: principals[a.principal].id
      principalType: principals[a.principal].type
      description: a.reason
    }
  }
]

output assignmentCount int = length(assignments)
