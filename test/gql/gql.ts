/* eslint-disable */
import * as types from './graphql.ts';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  mutation ApolloRenameChat($id: ID!, $name: String!) {\n    updateChat(id: $id, name: $name) { id name }\n  }\n": typeof types.ApolloRenameChatDocument,
    "\n  mutation ApolloCreateChat($name: String!) {\n    createChat(name: $name) { id name }\n  }\n": typeof types.ApolloCreateChatDocument,
    "\n  query PersistedChat($id: ID!) {\n    chat(id: $id) { id name }\n  }\n": typeof types.PersistedChatDocument,
    "\n  mutation CreateChat($name: String!) {\n    createChat(name: $name) { id name createdAt updatedAt }\n  }\n": typeof types.CreateChatDocument,
    "\n  mutation UpdateChat($id: ID!, $name: String!, $updatedAt: DateTime) {\n    updateChat(id: $id, name: $name, updatedAt: $updatedAt) { id name createdAt updatedAt }\n  }\n": typeof types.UpdateChatDocument,
    "\n  mutation DeleteChat($id: ID!) {\n    deleteChat(id: $id) { id name }\n  }\n": typeof types.DeleteChatDocument,
    "\n  query GetChat($id: ID!) {\n    chat(id: $id) { id name createdAt updatedAt }\n  }\n": typeof types.GetChatDocument,
    "\n  query ListChats($first: Int, $after: String) {\n    chats(first: $first, after: $after) {\n      edges { cursor node { id name updatedAt } }\n      pageInfo { hasNextPage endCursor }\n    }\n  }\n": typeof types.ListChatsDocument,
    "\n  query ChatsWithConversations($first: Int!, $messages: Int!) {\n    chats(first: $first) {\n      edges { node { id name conversations(first: $messages) { edges { node { id role message chatId } } } } }\n    }\n  }\n": typeof types.ChatsWithConversationsDocument,
    "\n  query LatestOfEachChat($last: Int!) {\n    chats(first: 20) {\n      edges { node { name conversations(last: $last) { edges { node { message } } pageInfo { hasPreviousPage } } } }\n    }\n  }\n": typeof types.LatestOfEachChatDocument,
    "\n  query PageOfEachChat($first: Int, $after: String, $last: Int, $before: String) {\n    chats(first: 20) {\n      edges {\n        node {\n          name\n          conversations(first: $first, after: $after, last: $last, before: $before) {\n            edges { cursor node { message } }\n            pageInfo { hasNextPage hasPreviousPage startCursor endCursor }\n          }\n        }\n      }\n    }\n  }\n": typeof types.PageOfEachChatDocument,
    "\n  query PageOfChat($id: ID!, $first: Int, $after: String, $last: Int, $before: String) {\n    chat(id: $id) {\n      conversations(first: $first, after: $after, last: $last, before: $before) {\n        edges { cursor node { message chat { name } } }\n        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }\n      }\n    }\n  }\n": typeof types.PageOfChatDocument,
    "\n  mutation AddMessage($chatId: ID!, $role: Role!, $message: String!) {\n    createConversation(chatId: $chatId, role: $role, message: $message) { id }\n  }\n": typeof types.AddMessageDocument,
    "\n  mutation NewChat($name: String!) {\n    createChat(name: $name) { id }\n  }\n": typeof types.NewChatDocument,
    "\n  mutation CreateConversation($chatId: ID!, $role: Role!, $message: String!) {\n    createConversation(chatId: $chatId, role: $role, message: $message) {\n      id role chatId message createdAt updatedAt chat { id }\n    }\n  }\n": typeof types.CreateConversationDocument,
    "\n  query GetConversation($id: ID!) {\n    conversation(id: $id) { id role message chat { id } }\n  }\n": typeof types.GetConversationDocument,
    "\n  query ChatMessages($id: ID!, $first: Int, $after: String) {\n    chat(id: $id) {\n      conversations(first: $first, after: $after) {\n        edges { node { message } }\n        pageInfo { hasNextPage endCursor }\n      }\n    }\n  }\n": typeof types.ChatMessagesDocument,
    "\n  mutation NewInferenceChat($name: String!) {\n    createChat(name: $name) { id }\n  }\n": typeof types.NewInferenceChatDocument,
    "\n  mutation AskQuestion($chatId: ID!, $message: String!) {\n    createConversation(chatId: $chatId, role: Human, message: $message) { id chatId role }\n  }\n": typeof types.AskQuestionDocument,
    "\n  subscription InferenceStream($id: ID!) {\n    inference(conversationId: $id) {\n      __typename\n      ... on InferenceToken { text }\n      ... on InferenceDone {\n        conversation { id message status finishReason replyTo { id } }\n        usage { totalTokens }\n      }\n      ... on InferenceError { code detail }\n    }\n  }\n": typeof types.InferenceStreamDocument,
    "\n  subscription InternetInferenceStream($id: ID!) {\n    inference(conversationId: $id, internet: true) {\n      __typename\n      ... on InferenceSources {\n        query\n        sources { index title url snippet }\n        error { code detail }\n      }\n      ... on InferenceToken { text }\n      ... on InferenceDone {\n        conversation { id message status grounded searchQuery sources { index url } searchError { code } }\n      }\n      ... on InferenceError { code detail }\n    }\n  }\n": typeof types.InternetInferenceStreamDocument,
    "\n  subscription ChatEventsStream($id: ID) {\n    chatEvents(chatId: $id) { type chatId conversation { id role } }\n  }\n": typeof types.ChatEventsStreamDocument,
    "\n  query Refetch($id: ID!) {\n    node(id: $id) {\n      __typename\n      id\n      ... on Chat { name conversations(first: 5) { edges { node { id message } } } }\n      ... on Conversation { message chat { id name } }\n    }\n  }\n": typeof types.RefetchDocument,
};
const documents: Documents = {
    "\n  mutation ApolloRenameChat($id: ID!, $name: String!) {\n    updateChat(id: $id, name: $name) { id name }\n  }\n": types.ApolloRenameChatDocument,
    "\n  mutation ApolloCreateChat($name: String!) {\n    createChat(name: $name) { id name }\n  }\n": types.ApolloCreateChatDocument,
    "\n  query PersistedChat($id: ID!) {\n    chat(id: $id) { id name }\n  }\n": types.PersistedChatDocument,
    "\n  mutation CreateChat($name: String!) {\n    createChat(name: $name) { id name createdAt updatedAt }\n  }\n": types.CreateChatDocument,
    "\n  mutation UpdateChat($id: ID!, $name: String!, $updatedAt: DateTime) {\n    updateChat(id: $id, name: $name, updatedAt: $updatedAt) { id name createdAt updatedAt }\n  }\n": types.UpdateChatDocument,
    "\n  mutation DeleteChat($id: ID!) {\n    deleteChat(id: $id) { id name }\n  }\n": types.DeleteChatDocument,
    "\n  query GetChat($id: ID!) {\n    chat(id: $id) { id name createdAt updatedAt }\n  }\n": types.GetChatDocument,
    "\n  query ListChats($first: Int, $after: String) {\n    chats(first: $first, after: $after) {\n      edges { cursor node { id name updatedAt } }\n      pageInfo { hasNextPage endCursor }\n    }\n  }\n": types.ListChatsDocument,
    "\n  query ChatsWithConversations($first: Int!, $messages: Int!) {\n    chats(first: $first) {\n      edges { node { id name conversations(first: $messages) { edges { node { id role message chatId } } } } }\n    }\n  }\n": types.ChatsWithConversationsDocument,
    "\n  query LatestOfEachChat($last: Int!) {\n    chats(first: 20) {\n      edges { node { name conversations(last: $last) { edges { node { message } } pageInfo { hasPreviousPage } } } }\n    }\n  }\n": types.LatestOfEachChatDocument,
    "\n  query PageOfEachChat($first: Int, $after: String, $last: Int, $before: String) {\n    chats(first: 20) {\n      edges {\n        node {\n          name\n          conversations(first: $first, after: $after, last: $last, before: $before) {\n            edges { cursor node { message } }\n            pageInfo { hasNextPage hasPreviousPage startCursor endCursor }\n          }\n        }\n      }\n    }\n  }\n": types.PageOfEachChatDocument,
    "\n  query PageOfChat($id: ID!, $first: Int, $after: String, $last: Int, $before: String) {\n    chat(id: $id) {\n      conversations(first: $first, after: $after, last: $last, before: $before) {\n        edges { cursor node { message chat { name } } }\n        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }\n      }\n    }\n  }\n": types.PageOfChatDocument,
    "\n  mutation AddMessage($chatId: ID!, $role: Role!, $message: String!) {\n    createConversation(chatId: $chatId, role: $role, message: $message) { id }\n  }\n": types.AddMessageDocument,
    "\n  mutation NewChat($name: String!) {\n    createChat(name: $name) { id }\n  }\n": types.NewChatDocument,
    "\n  mutation CreateConversation($chatId: ID!, $role: Role!, $message: String!) {\n    createConversation(chatId: $chatId, role: $role, message: $message) {\n      id role chatId message createdAt updatedAt chat { id }\n    }\n  }\n": types.CreateConversationDocument,
    "\n  query GetConversation($id: ID!) {\n    conversation(id: $id) { id role message chat { id } }\n  }\n": types.GetConversationDocument,
    "\n  query ChatMessages($id: ID!, $first: Int, $after: String) {\n    chat(id: $id) {\n      conversations(first: $first, after: $after) {\n        edges { node { message } }\n        pageInfo { hasNextPage endCursor }\n      }\n    }\n  }\n": types.ChatMessagesDocument,
    "\n  mutation NewInferenceChat($name: String!) {\n    createChat(name: $name) { id }\n  }\n": types.NewInferenceChatDocument,
    "\n  mutation AskQuestion($chatId: ID!, $message: String!) {\n    createConversation(chatId: $chatId, role: Human, message: $message) { id chatId role }\n  }\n": types.AskQuestionDocument,
    "\n  subscription InferenceStream($id: ID!) {\n    inference(conversationId: $id) {\n      __typename\n      ... on InferenceToken { text }\n      ... on InferenceDone {\n        conversation { id message status finishReason replyTo { id } }\n        usage { totalTokens }\n      }\n      ... on InferenceError { code detail }\n    }\n  }\n": types.InferenceStreamDocument,
    "\n  subscription InternetInferenceStream($id: ID!) {\n    inference(conversationId: $id, internet: true) {\n      __typename\n      ... on InferenceSources {\n        query\n        sources { index title url snippet }\n        error { code detail }\n      }\n      ... on InferenceToken { text }\n      ... on InferenceDone {\n        conversation { id message status grounded searchQuery sources { index url } searchError { code } }\n      }\n      ... on InferenceError { code detail }\n    }\n  }\n": types.InternetInferenceStreamDocument,
    "\n  subscription ChatEventsStream($id: ID) {\n    chatEvents(chatId: $id) { type chatId conversation { id role } }\n  }\n": types.ChatEventsStreamDocument,
    "\n  query Refetch($id: ID!) {\n    node(id: $id) {\n      __typename\n      id\n      ... on Chat { name conversations(first: 5) { edges { node { id message } } } }\n      ... on Conversation { message chat { id name } }\n    }\n  }\n": types.RefetchDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ApolloRenameChat($id: ID!, $name: String!) {\n    updateChat(id: $id, name: $name) { id name }\n  }\n"): (typeof documents)["\n  mutation ApolloRenameChat($id: ID!, $name: String!) {\n    updateChat(id: $id, name: $name) { id name }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ApolloCreateChat($name: String!) {\n    createChat(name: $name) { id name }\n  }\n"): (typeof documents)["\n  mutation ApolloCreateChat($name: String!) {\n    createChat(name: $name) { id name }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query PersistedChat($id: ID!) {\n    chat(id: $id) { id name }\n  }\n"): (typeof documents)["\n  query PersistedChat($id: ID!) {\n    chat(id: $id) { id name }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateChat($name: String!) {\n    createChat(name: $name) { id name createdAt updatedAt }\n  }\n"): (typeof documents)["\n  mutation CreateChat($name: String!) {\n    createChat(name: $name) { id name createdAt updatedAt }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation UpdateChat($id: ID!, $name: String!, $updatedAt: DateTime) {\n    updateChat(id: $id, name: $name, updatedAt: $updatedAt) { id name createdAt updatedAt }\n  }\n"): (typeof documents)["\n  mutation UpdateChat($id: ID!, $name: String!, $updatedAt: DateTime) {\n    updateChat(id: $id, name: $name, updatedAt: $updatedAt) { id name createdAt updatedAt }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation DeleteChat($id: ID!) {\n    deleteChat(id: $id) { id name }\n  }\n"): (typeof documents)["\n  mutation DeleteChat($id: ID!) {\n    deleteChat(id: $id) { id name }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query GetChat($id: ID!) {\n    chat(id: $id) { id name createdAt updatedAt }\n  }\n"): (typeof documents)["\n  query GetChat($id: ID!) {\n    chat(id: $id) { id name createdAt updatedAt }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ListChats($first: Int, $after: String) {\n    chats(first: $first, after: $after) {\n      edges { cursor node { id name updatedAt } }\n      pageInfo { hasNextPage endCursor }\n    }\n  }\n"): (typeof documents)["\n  query ListChats($first: Int, $after: String) {\n    chats(first: $first, after: $after) {\n      edges { cursor node { id name updatedAt } }\n      pageInfo { hasNextPage endCursor }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ChatsWithConversations($first: Int!, $messages: Int!) {\n    chats(first: $first) {\n      edges { node { id name conversations(first: $messages) { edges { node { id role message chatId } } } } }\n    }\n  }\n"): (typeof documents)["\n  query ChatsWithConversations($first: Int!, $messages: Int!) {\n    chats(first: $first) {\n      edges { node { id name conversations(first: $messages) { edges { node { id role message chatId } } } } }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query LatestOfEachChat($last: Int!) {\n    chats(first: 20) {\n      edges { node { name conversations(last: $last) { edges { node { message } } pageInfo { hasPreviousPage } } } }\n    }\n  }\n"): (typeof documents)["\n  query LatestOfEachChat($last: Int!) {\n    chats(first: 20) {\n      edges { node { name conversations(last: $last) { edges { node { message } } pageInfo { hasPreviousPage } } } }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query PageOfEachChat($first: Int, $after: String, $last: Int, $before: String) {\n    chats(first: 20) {\n      edges {\n        node {\n          name\n          conversations(first: $first, after: $after, last: $last, before: $before) {\n            edges { cursor node { message } }\n            pageInfo { hasNextPage hasPreviousPage startCursor endCursor }\n          }\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query PageOfEachChat($first: Int, $after: String, $last: Int, $before: String) {\n    chats(first: 20) {\n      edges {\n        node {\n          name\n          conversations(first: $first, after: $after, last: $last, before: $before) {\n            edges { cursor node { message } }\n            pageInfo { hasNextPage hasPreviousPage startCursor endCursor }\n          }\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query PageOfChat($id: ID!, $first: Int, $after: String, $last: Int, $before: String) {\n    chat(id: $id) {\n      conversations(first: $first, after: $after, last: $last, before: $before) {\n        edges { cursor node { message chat { name } } }\n        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }\n      }\n    }\n  }\n"): (typeof documents)["\n  query PageOfChat($id: ID!, $first: Int, $after: String, $last: Int, $before: String) {\n    chat(id: $id) {\n      conversations(first: $first, after: $after, last: $last, before: $before) {\n        edges { cursor node { message chat { name } } }\n        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation AddMessage($chatId: ID!, $role: Role!, $message: String!) {\n    createConversation(chatId: $chatId, role: $role, message: $message) { id }\n  }\n"): (typeof documents)["\n  mutation AddMessage($chatId: ID!, $role: Role!, $message: String!) {\n    createConversation(chatId: $chatId, role: $role, message: $message) { id }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation NewChat($name: String!) {\n    createChat(name: $name) { id }\n  }\n"): (typeof documents)["\n  mutation NewChat($name: String!) {\n    createChat(name: $name) { id }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateConversation($chatId: ID!, $role: Role!, $message: String!) {\n    createConversation(chatId: $chatId, role: $role, message: $message) {\n      id role chatId message createdAt updatedAt chat { id }\n    }\n  }\n"): (typeof documents)["\n  mutation CreateConversation($chatId: ID!, $role: Role!, $message: String!) {\n    createConversation(chatId: $chatId, role: $role, message: $message) {\n      id role chatId message createdAt updatedAt chat { id }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query GetConversation($id: ID!) {\n    conversation(id: $id) { id role message chat { id } }\n  }\n"): (typeof documents)["\n  query GetConversation($id: ID!) {\n    conversation(id: $id) { id role message chat { id } }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ChatMessages($id: ID!, $first: Int, $after: String) {\n    chat(id: $id) {\n      conversations(first: $first, after: $after) {\n        edges { node { message } }\n        pageInfo { hasNextPage endCursor }\n      }\n    }\n  }\n"): (typeof documents)["\n  query ChatMessages($id: ID!, $first: Int, $after: String) {\n    chat(id: $id) {\n      conversations(first: $first, after: $after) {\n        edges { node { message } }\n        pageInfo { hasNextPage endCursor }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation NewInferenceChat($name: String!) {\n    createChat(name: $name) { id }\n  }\n"): (typeof documents)["\n  mutation NewInferenceChat($name: String!) {\n    createChat(name: $name) { id }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation AskQuestion($chatId: ID!, $message: String!) {\n    createConversation(chatId: $chatId, role: Human, message: $message) { id chatId role }\n  }\n"): (typeof documents)["\n  mutation AskQuestion($chatId: ID!, $message: String!) {\n    createConversation(chatId: $chatId, role: Human, message: $message) { id chatId role }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription InferenceStream($id: ID!) {\n    inference(conversationId: $id) {\n      __typename\n      ... on InferenceToken { text }\n      ... on InferenceDone {\n        conversation { id message status finishReason replyTo { id } }\n        usage { totalTokens }\n      }\n      ... on InferenceError { code detail }\n    }\n  }\n"): (typeof documents)["\n  subscription InferenceStream($id: ID!) {\n    inference(conversationId: $id) {\n      __typename\n      ... on InferenceToken { text }\n      ... on InferenceDone {\n        conversation { id message status finishReason replyTo { id } }\n        usage { totalTokens }\n      }\n      ... on InferenceError { code detail }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription InternetInferenceStream($id: ID!) {\n    inference(conversationId: $id, internet: true) {\n      __typename\n      ... on InferenceSources {\n        query\n        sources { index title url snippet }\n        error { code detail }\n      }\n      ... on InferenceToken { text }\n      ... on InferenceDone {\n        conversation { id message status grounded searchQuery sources { index url } searchError { code } }\n      }\n      ... on InferenceError { code detail }\n    }\n  }\n"): (typeof documents)["\n  subscription InternetInferenceStream($id: ID!) {\n    inference(conversationId: $id, internet: true) {\n      __typename\n      ... on InferenceSources {\n        query\n        sources { index title url snippet }\n        error { code detail }\n      }\n      ... on InferenceToken { text }\n      ... on InferenceDone {\n        conversation { id message status grounded searchQuery sources { index url } searchError { code } }\n      }\n      ... on InferenceError { code detail }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription ChatEventsStream($id: ID) {\n    chatEvents(chatId: $id) { type chatId conversation { id role } }\n  }\n"): (typeof documents)["\n  subscription ChatEventsStream($id: ID) {\n    chatEvents(chatId: $id) { type chatId conversation { id role } }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Refetch($id: ID!) {\n    node(id: $id) {\n      __typename\n      id\n      ... on Chat { name conversations(first: 5) { edges { node { id message } } } }\n      ... on Conversation { message chat { id name } }\n    }\n  }\n"): (typeof documents)["\n  query Refetch($id: ID!) {\n    node(id: $id) {\n      __typename\n      id\n      ... on Chat { name conversations(first: 5) { edges { node { id message } } } }\n      ... on Conversation { message chat { id name } }\n    }\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;