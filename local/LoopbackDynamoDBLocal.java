import java.lang.reflect.Field;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import software.amazon.dynamodb.services.local.main.CommandLineInput;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

/**
 * DynamoDB Local, the unmodified jar, listening on 127.0.0.1 only: its command line has `-port`
 * but no host, and its Jetty server binds every interface. This builds the server the jar's own
 * main would (same arguments), sets its connector's host before it starts, and starts it.
 * local/services.ts compiles and runs it.
 */
public final class LoopbackDynamoDBLocal {
    public static void main(String[] args) throws Exception {
        if (!new CommandLineInput(args).init()) return; // -help: usage printed
        DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
        Server server = null;
        // Found by type, not name, so a renamed private field does not break it.
        for (Field field : DynamoDBProxyServer.class.getDeclaredFields()) {
            if (field.getType() == Server.class) {
                field.setAccessible(true);
                server = (Server) field.get(proxy);
            }
        }
        if (server == null) throw new IllegalStateException("DynamoDBProxyServer holds no Jetty Server: this DynamoDB Local is not the one the launcher was written for");
        for (Connector connector : server.getConnectors()) ((ServerConnector) connector).setHost("127.0.0.1");
        proxy.start();
        if (!server.isStarted()) System.exit(1); // start() only prints bind errors
    }
}
