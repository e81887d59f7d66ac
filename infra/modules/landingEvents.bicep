// Event Grid delivers each BlobCreated of the landing container to the landing-events queue, with the
// topic's own identity (no key), and dead-letters what it cannot deliver to landing-deadletter.
param landingStorageName string
param systemTopicName string

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
      includedEventTypes: ['Microsoft.Storage.BlobCreated']
      // Ends in /blobs/: '/containers/landing' alone would also match landing-failed, and every quarantine
      // copy would come back as a new event.
      subjectBeginsWith: '/blobServices/default/containers/landing/blobs/'
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
