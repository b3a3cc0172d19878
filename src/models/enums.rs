//! The string enums of the messages API.
//!
//! PiecesOS adds values in new releases, and a strict decoder once broke the Python SDK on one
//! (pieces-os-client-sdk-for-python#21). So every enum here ends in `Other(String)`, which keeps an unknown
//! value and writes it back unchanged.

lossless_enum! {
    /// Who wrote a conversation message (`QGPTConversationMessageRoleEnum`).
    pub enum Role {
        /// `UNKNOWN`.
        Unknown = "UNKNOWN",
        /// `USER`: the person asking.
        User = "USER",
        /// `SYSTEM`: instructions or context.
        System = "SYSTEM",
        /// `ASSISTANT`: the model's answer.
        Assistant = "ASSISTANT",
        /// `SYSTEM_THINKING`: the model's intermediate reasoning.
        SystemThinking = "SYSTEM_THINKING",
    }
}

lossless_enum! {
    /// How the user rated a message (`ConversationMessageSentimentEnum`).
    pub enum Sentiment {
        /// `UNKNOWN`.
        Unknown = "UNKNOWN",
        /// `LIKE`.
        Like = "LIKE",
        /// `DISLIKE`.
        Dislike = "DISLIKE",
        /// `REPORT`.
        Report = "REPORT",
    }
}

lossless_enum! {
    /// How the engines of a [`SearchEngines`](super::SearchEngines) combine (`FilterOperationTypeEnum`);
    /// PiecesOS treats an absent value as `AND`.
    pub enum FilterOperation {
        /// `UNKNOWN`.
        Unknown = "UNKNOWN",
        /// `AND`: a result must match every engine.
        And = "AND",
        /// `OR`: a result may match any engine.
        Or = "OR",
    }
}

lossless_enum! {
    /// Which embedding an embeddings search runs on (`EmbeddingsSearchOptionsEmbeddingTypeEnum`).
    pub enum EmbeddingType {
        /// `UNKNOWN`.
        Unknown = "UNKNOWN",
        /// `JINA`.
        Jina = "JINA",
        /// `NCS`.
        Ncs = "NCS",
    }
}

lossless_enum! {
    /// The API version a model was written with (`EmbeddedModelSchemaSemanticVersionEnum`).
    pub enum SemanticVersion {
        /// `UNKNOWN`.
        Unknown = "UNKNOWN",
        /// `MAJOR_0_MINOR_0_PATCH_1`.
        Major0Minor0Patch1 = "MAJOR_0_MINOR_0_PATCH_1",
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn known_values_map_to_variants_and_back() {
        for (role, wire) in [
            (Role::Unknown, "UNKNOWN"),
            (Role::User, "USER"),
            (Role::System, "SYSTEM"),
            (Role::Assistant, "ASSISTANT"),
            (Role::SystemThinking, "SYSTEM_THINKING"),
        ] {
            assert_eq!(role.as_str(), wire);
            assert_eq!(role.to_string(), wire);
            assert_eq!(wire.parse::<Role>().unwrap(), role);
            assert!(matches!(Role::from(wire), ref r if r.is_known()));
            assert_eq!(serde_json::to_string(&role).unwrap(), format!("\"{wire}\""));
            assert_eq!(
                serde_json::from_str::<Role>(&format!("\"{wire}\"")).unwrap(),
                role
            );
        }
        for (sentiment, wire) in [
            (Sentiment::Unknown, "UNKNOWN"),
            (Sentiment::Like, "LIKE"),
            (Sentiment::Dislike, "DISLIKE"),
            (Sentiment::Report, "REPORT"),
        ] {
            assert_eq!(Sentiment::from(wire), sentiment);
            assert_eq!(sentiment.as_str(), wire);
        }
        for (operation, wire) in [
            (FilterOperation::Unknown, "UNKNOWN"),
            (FilterOperation::And, "AND"),
            (FilterOperation::Or, "OR"),
        ] {
            assert_eq!(FilterOperation::from(wire), operation);
            assert_eq!(operation.as_str(), wire);
        }
        assert_eq!(EmbeddingType::from("NCS"), EmbeddingType::Ncs);
        assert_eq!(
            SemanticVersion::from("MAJOR_0_MINOR_0_PATCH_1"),
            SemanticVersion::Major0Minor0Patch1
        );
    }

    #[test]
    fn unknown_values_are_kept_and_written_back() {
        let role: Role = serde_json::from_str("\"CRITIC\"").unwrap();
        assert_eq!(role, Role::Other("CRITIC".into()));
        assert!(!role.is_known());
        assert_eq!(role.as_str(), "CRITIC");
        assert_eq!(serde_json::to_string(&role).unwrap(), "\"CRITIC\"");

        // Case matters on the wire: "user" is not USER.
        let sentiment: Sentiment = serde_json::from_str("\"like\"").unwrap();
        assert_eq!(sentiment, Sentiment::Other("like".into()));
        assert_eq!(serde_json::to_value(&sentiment).unwrap(), "like");

        // An escaped string arrives as an owned String, not borrowed from the input.
        let escaped: Role = serde_json::from_str("\"US\\u0045R\"").unwrap();
        assert_eq!(escaped, Role::User);
    }

    #[test]
    fn other_holding_a_known_value_equals_the_variant() {
        assert_eq!(Role::Other("USER".into()), Role::User);
        let set: HashSet<Role> = [Role::User, Role::Other("USER".into())].into_iter().collect();
        assert_eq!(set.len(), 1);
    }

    #[test]
    fn non_strings_are_refused() {
        let err = serde_json::from_str::<Role>("3").unwrap_err();
        assert!(err.to_string().contains("a Role string"), "{err}");
        assert!(serde_json::from_str::<Role>("null").is_err());
    }
}
