// Event Grid delivers each BlobCreated of the landing container to the landing-events queue, with the
// topic's own identity (no key), and dead-letters what it cannot deliver to landing-deadletter.
param landingStorageName string
param systemTopicName string
@description('The landing account is a Data Lake (hierarchical namespace) account.')
param hierarchicalNamespace bool = false

// The operations after which a file is complete (the app's COMPLETE_APIS), and a rename into place. A Data
// Lake account also raises BlobCreated for CreateFile (an empty file about to be appended to): filtered out
// here, and ignored by the app should one arrive.
var completeApis = ['PutBlob', 'PutBlockList', 'CopyBlob', 'FlushWithClose', 'SftpCommit', 'RenameFile']

resource storage 'Microsoft.Storage/storageAccounts@2025-01-01' existing = {
  name: landingStorageName
}

resource systemTopic 'Microsoft.EventGrid/systemTopics@2025-02-15' existing = {
  name: systemTopicName
}

resource blobCreated 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2025-02-15' = {
  parent: systemTopic
  name: 'landing-blob-created'
  properties: {
    eventDeliverySchema: 'EventGridSchema'
    filter: {
      includedEventTypes: hierarchicalNamespace
        ? ['Microsoft.Storage.BlobCreated', 'Microsoft.Storage.BlobRenamed']
        : ['Microsoft.Storage.BlobCreated']
      // Ends in /blobs/: '/containers/landing' alone would also match landing-failed, and every quarantine
      // copy would come back as a new event. A rename's subject is its destination.
      subjectBeginsWith: '/blobServices/default/containers/landing/blobs/'
      advancedFilters: hierarchicalNamespace
        ? [{ operatorType: 'StringIn', key: 'data.api', values: completeApis }]
        : []
    }
    deliveryWithResourceIdentity: {
      identity: { type: 'SystemAssigned' }
      destination: {
        endpointType: 'StorageQueue'
        properties: {
          resourceId: storage.id
          queueName: 'landing-events'
          queueMessageTimeToLiveInSeconds: 604800
        }
      }
    }
    retryPolicy: { maxDeliveryAttempts: 30, eventTimeToLiveInMinutes: 1440 }
    deadLetterWithResourceIdentity: {
      identity: { type: 'SystemAssigned' }
      deadLetterDestination: {
        endpointType: 'StorageBlob'
        properties: { resourceId: storage.id, blobContainerName: 'landing-deadletter' }
      }
    }
  }
}

output subscriptionName string = blobCreated.name
