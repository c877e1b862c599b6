"""The downstream benchmark: does adding synthetic rare-class images help a classifier, compared with every cheap
alternative? One small CNN with a fixed training budget (`classifier`), the training sets each arm builds
(`arms`), shifted test images (`shifts`), the metrics (`metrics`), intervals and paired comparisons (`stats`),
the ratio sweep (`sweep`), the loop that runs it all (`harness`) and the report files (`report`).
"""
