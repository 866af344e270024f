package newsfeed;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SchemaLocation;
import com.networknt.schema.SchemaValidatorsConfig;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import java.io.FileReader;
import java.io.IOException;
import java.io.Reader;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.StringDeserializer;

/** Reads newsfeed's enriched topic and checks every record against schemas/enriched-article.v2.json;
 *  prints `valid KEY LANGUAGE STORY_ID FOCUS_COUNTRIES` per record.
 *  Usage: EnrichedConsumer BOOTSTRAP TOPIC SCHEMA_DIR COUNT GROUP [CLIENT_PROPERTIES]; exit 1 at the first
 *  invalid record. CLIENT_PROPERTIES: a Kafka client properties file (as --consumer.config takes), e.g.
 *  security.protocol, sasl.mechanism, sasl.jaas.config, ssl.truststore.type/location for a secured cluster.
 *  Exit 2 when the brokers cannot be reached, refuse the credentials or the ACLs within 20 s. */
public class EnrichedConsumer {
    static final String SCHEMA_ID = "https://newsfeed.example/schemas/";

    /** The article's focus countries (ISO codes, comma-separated; "-" when none): what a consumer filters on. */
    static String focusCountries(JsonNode article) {
        List<String> codes = new ArrayList<>();
        for (JsonNode country : article.path("countries")) {
            if (country.path("focus").asBoolean()) codes.add(country.path("code").asText());
        }
        return codes.isEmpty() ? "-" : String.join(",", codes);
    }

    public static void main(String[] args) throws Exception {
        String bootstrap = args[0], topic = args[1], group = args[4];
        int count = Integer.parseInt(args[3]);
        // the schemas' $ids live under SCHEMA_ID; their $refs are resolved from the local schemas/ directory
        JsonSchemaFactory factory = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012, builder ->
                builder.schemaMappers(m -> m.mapPrefix(SCHEMA_ID, Path.of(args[2]).toUri().toString())));
        SchemaValidatorsConfig config = SchemaValidatorsConfig.builder().formatAssertionsEnabled(true).build();
        JsonSchema schema = factory.getSchema(SchemaLocation.of(SCHEMA_ID + "enriched-article.v2.json"), config);
        ObjectMapper json = new ObjectMapper();

        Properties props = new Properties();
        props.put("bootstrap.servers", bootstrap);
        props.put("group.id", group);
        props.put("auto.offset.reset", "earliest");
        props.put("key.deserializer", StringDeserializer.class.getName());
        props.put("value.deserializer", StringDeserializer.class.getName());
        if (args.length > 5) {
            try (Reader in = new FileReader(args[5])) {
                props.load(in);
            } catch (IOException e) {
                fail("cannot read the client properties file " + args[5] + ": " + e.getMessage());
            }
        }
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(props)) {
            // a TLS or SASL listener met with the wrong settings never answers a plaintext client: the
            // client would retry silently forever, so the first metadata request gets a deadline
            consumer.partitionsFor(topic, Duration.ofSeconds(20));
            consumer.subscribe(List.of(topic));
            int read = 0;
            while (read < count) {
                for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(500))) {
                    JsonNode article = json.readTree(record.value());
                    Set<ValidationMessage> errors = schema.validate(article);
                    for (ValidationMessage error : errors) {
                        System.out.printf("INVALID %s at %s: %s (schema path %s)%n", record.key(),
                                error.getInstanceLocation(), error.getMessage(), error.getSchemaLocation());
                    }
                    if (!errors.isEmpty()) System.exit(1);
                    System.out.printf("valid %s %s %s %s%n", record.key(), article.path("language").path("code").asText(),
                            article.path("story").path("id").asText(), focusCountries(article));
                    read++;
                }
            }
        } catch (TimeoutException e) {
            fail("no answer from " + bootstrap + " within 20 s (" + props.getProperty("security.protocol", "PLAINTEXT")
                 + "): a TLS or SASL listener needs its client settings in a properties file, the 6th argument");
        } catch (AuthenticationException | AuthorizationException e) {
            fail(e.getClass().getSimpleName() + ": " + e.getMessage());
        } catch (KafkaException e) {
            fail("the Kafka client could not start: " + e.getMessage());
        }
    }

    static void fail(String message) {
        System.err.println("EnrichedConsumer: " + message);
        System.exit(2);
    }
}
