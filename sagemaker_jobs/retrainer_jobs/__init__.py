"""Code that runs inside SageMaker jobs (the scikit-learn processing image), not in Lambda.

Published to the artifacts bucket by the PublishJobCode custom resource and mounted into the
processing container at /opt/ml/processing/input/code.
"""
