"""企业新型学徒制: an enterprise and a training institution train an apprentice toward a level."""
