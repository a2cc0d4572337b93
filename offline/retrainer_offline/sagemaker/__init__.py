"""The SageMaker imitation: jobs as processes, their containers and logs, endpoints that serve, and a traffic client."""
